"""Fixtures of the skmmat.embeddings tests: a private cache, a small in-memory table."""

import pytest

from skmmat.embeddings import WordVectors


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_cache):
    """Never write converted tables or graphs to the user's real cache."""


@pytest.fixture(scope="module")
def glove5k(glove):
    """The 5,000 most frequent GloVe words (an in-memory table, no source)."""
    return WordVectors(glove.words[:5000], glove.vectors[:5000])
