"""Handing freed heap memory back to the operating system between big phases.

glibc's ``malloc`` keeps memory freed by many medium-sized allocations (a
network's per-batch activations of a few to tens of megabytes) in its heap
instead of returning it, and a long pass can grow the heap far beyond what
it holds at any one time: after crafting the adversarial half of all 8,425
CrisisMMD rows, one prediction pass over it raised the resident memory by
0.8 copies of the image tensor that nothing used any more. ``malloc_trim``
returns such memory; Dask's workers call it for the same reason. Fixing the
allocator's threshold instead (``MALLOC_MMAP_THRESHOLD_``) made those passes
1.5 to 2 times slower.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release_freed_memory"]


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory():
    """Return the C heap's free memory to the operating system, where glibc allows.

    Returns
    -------
    released : bool
        Whether ``malloc_trim`` ran (and reported memory released).
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
