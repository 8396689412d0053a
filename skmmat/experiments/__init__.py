"""The paper's Table I experiment (six models, clean and adversarial scores) and its case study.

Used by ``skmmat demo``, ``skmmat table1`` and ``benchmarks/table1.py``;
built from the public API only.
"""

from ._attacks import strongest_attacks
from ._card import measure_for_card
from ._case_study import CaseExample, CaseStudy, case_study
from ._format import format_table
from ._models import PLAIN_COUNTERPART as PLAIN_COUNTERPART  # used by skmmat._report, table1.py
from ._models import TABLE1_MODELS, make_table1_model
from ._paper import PAPER_TABLE1
from ._runner import Table1Result, run_table1

__all__ = [
    "CaseExample",
    "CaseStudy",
    "PAPER_TABLE1",
    "TABLE1_MODELS",
    "Table1Result",
    "case_study",
    "format_table",
    "make_table1_model",
    "measure_for_card",
    "run_table1",
    "strongest_attacks",
]
