"""Shared pytest fixtures for skmmat."""

import os
from pathlib import Path

import pytest
import torch

# pytest-xdist runs one worker per core: one torch thread each avoids oversubscribing
# the cores (on 2 cores, two 2-thread workers ran ~10x slower than two 1-thread ones).
torch.set_num_threads(1)

# <repo>/../shared/data/crisismmd: the team's copy of the CrisisMMD annotations.
_DEFAULT_CRISISMMD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crisismmd"


@pytest.fixture(scope="session")
def crisismmd_root():
    """Root of CrisisMMD v2.0 (holding ``annotations/``), or skip the test.

    Set the environment variable ``SKMMAT_CRISISMMD`` to point at another copy.
    """
    env = os.environ.get("SKMMAT_CRISISMMD")
    root = Path(env).expanduser() if env else _DEFAULT_CRISISMMD
    if not (root / "annotations").is_dir():
        source = "SKMMAT_CRISISMMD" if env else "the default location"
        pytest.skip(
            f"CrisisMMD annotations not found at {root / 'annotations'} ({source}); "
            "download CrisisMMD v2.0 and set SKMMAT_CRISISMMD to its root to run this test."
        )
    return root
