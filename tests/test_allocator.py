"""Tests of skmmat._allocator: handing freed heap memory back to the system."""

import sys

import numpy as np
import pytest

from skmmat import _allocator


def _rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or _allocator._malloc_trim() is None,
    reason="glibc's malloc_trim is Linux-only",
)
def test_freed_heap_memory_goes_back_to_the_system():
    # many 64 KB blocks come from the heap (not mmap); keeping every 16th pins the heap's
    # top, so free() alone gives nothing back
    blocks = [np.ones(16_384, np.float32) for _ in range(4096)]  # 256 MB
    kept = blocks[::16]
    del blocks
    before = _rss()
    assert _allocator.release_freed_memory() is True
    assert _rss() < before - 100 * 2**20
    assert len(kept) == 256


def test_without_malloc_trim_it_does_nothing(monkeypatch):
    monkeypatch.setattr(_allocator, "_malloc_trim", lambda: None)
    assert _allocator.release_freed_memory() is False
