"""Tests of skmmat._allocator: handing freed heap memory back to the system."""

import sys

import numpy as np
import pandas as pd
import pytest

from skmmat import MultiModalCNNClassifier, _allocator
from skmmat.models import _passes, _training


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


def test_passes_and_fits_hand_the_freed_heap_back_when_they_end(monkeypatch):
    """A pass of several batches trims every 64 batches and at its end; a fit at its end."""
    calls = []
    monkeypatch.setattr(_passes, "release_freed_memory", lambda: calls.append("pass"))
    monkeypatch.setattr(_training, "release_freed_memory", lambda: calls.append("fit"))
    assert len(list(_passes._batches(32, 32))) == 1
    assert calls == []  # one batch: nothing grew
    assert len(list(_passes._batches(33, 32))) == 2
    assert calls == ["pass"]
    calls.clear()
    assert len(list(_passes._batches(130 * 32, 32))) == 130
    assert calls == ["pass"] * 3  # after batches 64 and 128, and at the end
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"text": list(rng.normal(size=(40, 4, 5)).astype(np.float32))})
    y = np.repeat([0, 1], 20)
    calls.clear()
    MultiModalCNNClassifier(modalities="text", max_epochs=1, patience=None).fit(X, y)
    assert calls[-1] == "fit"
