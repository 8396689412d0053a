"""Dataset loaders for skmmat."""

from ._crisismmd import CRISISMMD_EVENTS, load_crisismmd

__all__ = ["CRISISMMD_EVENTS", "load_crisismmd"]
