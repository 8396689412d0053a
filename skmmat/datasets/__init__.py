"""Datasets: the CrisisMMD loader and the embedded demo data."""

from ._crisismmd import CRISISMMD_EVENTS, load_crisismmd
from ._demo import make_crisis_tweets

__all__ = ["CRISISMMD_EVENTS", "load_crisismmd", "make_crisis_tweets"]
