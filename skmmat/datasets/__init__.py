"""Datasets: the CrisisMMD loader, its train/test split, and the embedded demo data."""

from ._crisismmd import CRISISMMD_EVENTS, load_crisismmd
from ._demo import make_crisis_tweets
from ._split import crisismmd_train_test_split

__all__ = [
    "CRISISMMD_EVENTS",
    "crisismmd_train_test_split",
    "load_crisismmd",
    "make_crisis_tweets",
]
