"""Scores of predictions that crisis-informatics work reports beside accuracy."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

__all__ = [
    "SCORES",
    "check_metric",
    "prediction_scores",
    "predicts_one_class",
    "score_predictions",
]


def _macro_f1(y_true, y_pred):
    return f1_score(y_true, y_pred, average="macro", zero_division=0.0)


def _weighted_f1(y_true, y_pred):
    return f1_score(y_true, y_pred, average="weighted", zero_division=0.0)


#: The scores skmmat reports, by name: ``score(y_true, y_pred) -> float``.
#: Macro-F1 and balanced accuracy are at chance (0.5 balanced accuracy) for a
#: model that predicts one class for every tweet, however accurate it looks.
SCORES = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "macro_f1": _macro_f1,
    "weighted_f1": _weighted_f1,
}


def score_predictions(metric, y_true, y_pred):
    """One score of predictions.

    Parameters
    ----------
    metric : str or callable
        A key of :data:`SCORES` or a callable ``metric(y_true, y_pred)``.
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    score : float

    Raises
    ------
    ValueError
        If ``metric`` is an unknown name.
    """
    return float(check_metric(metric)(y_true, y_pred))


def check_metric(metric):
    """The score function ``metric`` names (or ``metric`` itself, when callable).

    Raises
    ------
    ValueError
        If ``metric`` is neither a key of :data:`SCORES` nor a callable.
    """
    if callable(metric):
        return metric
    if metric not in SCORES:
        raise ValueError(
            f"The 'metric' parameter must be one of {sorted(SCORES)} or a callable "
            f"metric(y_true, y_pred). Got {metric!r} instead."
        )
    return SCORES[metric]


def predicts_one_class(y_pred):
    """Whether every prediction is the same class (a collapsed model).

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)

    Returns
    -------
    bool
    """
    return len(np.unique(np.asarray(y_pred))) <= 1


def prediction_scores(y_true, y_pred):
    """Every score of :data:`SCORES`, and whether the model predicted one class.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    scores : dict
        ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``weighted_f1``
        (floats) and ``one_class`` (bool).

    Examples
    --------
    >>> from skmmat.metrics import prediction_scores
    >>> s = prediction_scores(["a", "a", "a", "b"], ["a", "a", "a", "a"])
    >>> s["accuracy"], s["balanced_accuracy"], round(s["macro_f1"], 3), s["one_class"]
    (0.75, 0.5, 0.429, True)
    """
    scores = {name: score_predictions(name, y_true, y_pred) for name in SCORES}
    scores["one_class"] = predicts_one_class(y_pred)
    return scores
