"""Shared pytest fixtures for skmmat."""

import os

# One thread per process: pytest-xdist runs one worker per core, and the commands some
# tests start (skmmat demo, the docs build, Dask workers) inherit this environment. Torch
# uses OpenMP, whose threads spin while they wait: a 2-thread subprocess beside a busy
# worker on 2 cores made a neighbouring test run 8x slower (149 s instead of 18 s).
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

from pathlib import Path
from types import MappingProxyType

import pytest
import torch
from threadpoolctl import threadpool_limits

from skmmat import MultiModalCNNClassifier
from skmmat.embeddings import load_vectors

# pytest-xdist runs one worker per core: one torch thread each avoids oversubscribing
# the cores (on 2 cores, two 2-thread workers ran ~10x slower than two 1-thread ones).
torch.set_num_threads(1)
threadpool_limits(1)  # numpy's BLAS, already loaded in this process

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


# ----------------------------------------------------------------------
# small models
# ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def small_params():
    """The small, fast architecture the model tests start from.

    Read-only (it is shared by the whole session): build a variant with
    ``{**small_params, "lr": 1e-2}``.
    """
    return MappingProxyType(
        {
            "hidden_units": 16,
            "image_filters": (8, 16),
            "text_filters": 16,
            "dropout": 0.1,
            "batch_size": 32,
            "lr": 3e-3,
        }
    )


@pytest.fixture(scope="session")
def tiny_params(small_params):
    """A still smaller variant of ``small_params``, at the default dropout and rate."""
    defaults = MultiModalCNNClassifier().get_params()
    return MappingProxyType(
        {
            **small_params,
            "hidden_units": 8,
            "image_filters": (4, 8),
            "text_filters": 8,
            "batch_size": 16,
            "dropout": defaults["dropout"],
            "lr": defaults["lr"],
        }
    )


@pytest.fixture(scope="session")
def make_small_cnn(small_params):
    """``make_small_cnn(**overrides)``: an unfitted classifier of ``small_params``."""

    def make_small_cnn(**overrides):
        return MultiModalCNNClassifier(**{**small_params, **overrides})

    return make_small_cnn


# ----------------------------------------------------------------------
# word vectors
# ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def glove():
    """The real GloVe 6B 50-d table (loaded once per process)."""
    return load_vectors("glove-6b-50d")


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A private ``SKMMAT_CACHE_DIR``: converted tables and graphs never reach the real cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SKMMAT_CACHE_DIR", str(cache))
    return cache
