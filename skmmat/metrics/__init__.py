"""Evaluation: scores beside accuracy, and scores on adversarial examples.

* :func:`prediction_scores`, :data:`SCORES`: accuracy, balanced accuracy,
  macro- and weighted F1, and whether a model predicted one class only;
* :func:`adversarial_score`, :func:`adversarial_accuracy`: a score on
  adversarial examples crafted white-box (or against another model);
* :func:`make_adversarial_scorer`: the same as a scorer for
  :class:`~sklearn.model_selection.GridSearchCV`;
* :func:`certify`, :func:`certified_accuracy`, :func:`make_certified_scorer`:
  certificates of robustness (interval bound propagation), a lower bound on
  the accuracy under every attack of the threat model.
"""

from ._adversarial import (
    adversarial_accuracy,
    adversarial_predictions,
    adversarial_score,
    make_adversarial_scorer,
)
from ._certified import ROUNDING_ALLOWANCE, certified_accuracy, certify, make_certified_scorer
from ._scores import (
    SCORES,
    check_metric,
    prediction_scores,
    predicts_one_class,
    score_predictions,
)

__all__ = [
    "ROUNDING_ALLOWANCE",
    "SCORES",
    "adversarial_accuracy",
    "check_metric",
    "adversarial_predictions",
    "adversarial_score",
    "certified_accuracy",
    "certify",
    "make_adversarial_scorer",
    "make_certified_scorer",
    "prediction_scores",
    "predicts_one_class",
    "score_predictions",
]
