"""JSON encoding of the values skorch and numpy put in training histories."""

from __future__ import annotations

import json

import numpy as np

__all__ = ["history_to_json"]


def _default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def history_to_json(history):
    """A skorch history (or any list of dicts) as a JSON string.

    Parameters
    ----------
    history : skorch.history.History or list of dict
        Per-epoch records; numpy scalars become Python numbers.

    Returns
    -------
    text : str
    """
    records = history.to_list() if hasattr(history, "to_list") else list(history)
    return json.dumps(records, default=_default)
