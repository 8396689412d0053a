"""The figures of ``benchmarks/speed.py``, one module each, and their shared helpers.

``common`` holds the timing helpers, :func:`~common.figure`, the worker
processes and the machine description; ``fgsm``, ``mmat``, ``candidates``,
``art``, ``throughput``, ``memory`` and ``decoding`` measure figures 1 to 7; ``report``
prints the table and writes the Markdown report.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Benchmark the skmmat next to this script, installed or not.
if (REPO / "skmmat" / "__init__.py").is_file() and str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
