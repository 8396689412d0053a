"""The evaluation a model card records: clean and attacked scores with the threat model."""

from __future__ import annotations

import numpy as np

from ..metrics import adversarial_predictions, prediction_scores
from ._attacks import STRONGEST_BUDGET, strongest_attacks

__all__ = [
    "attack_entry",
    "attacked_scores",
    "evaluation_card",
    "measure_for_card",
    "threat_model",
    "worst_case",
]


def attacked_scores(model, X, y, **attack):
    """(accuracy, macro-F1) on one set of adversarial examples, crafted and predicted once.

    ``attack``: the keywords of :func:`~skmmat.metrics.adversarial_predictions`.
    """
    y_pred, _ = adversarial_predictions(model, X, y, **attack)
    scores = prediction_scores(y, y_pred)
    return scores["accuracy"], scores["macro_f1"]


def attack_entry(scores, attack):
    """One attack's entry in a card: ``scores`` is (accuracy, macro-F1); ``attack`` says what."""
    return {"accuracy": float(scores[0]), "macro_f1": float(scores[1]), "attack": attack}


def worst_case(attacks):
    """How a card names the per-tweet worst case of several attacks."""
    return "per-tweet worst case of " + "; ".join(attacks)


def evaluation_card(n_test, clean, attacked, threat_model):
    """The ``"evaluation"`` entry of a model card.

    Parameters
    ----------
    n_test : int
        Test rows.
    clean : dict
        :func:`~skmmat.metrics.prediction_scores` on the clean test set.
    attacked : dict of str -> dict
        Per attack, its :func:`attack_entry`.
    threat_model : dict
        ``eps``, ``threshold``, the word-vector table and the text budget.

    Returns
    -------
    evaluation : dict
    """
    return {
        "test_rows": int(n_test),
        "clean": {key: float(clean[key]) for key in ("accuracy", "macro_f1", "balanced_accuracy")}
        | {"one_class": bool(clean["one_class"])},
        "attacked": dict(attacked),
        "threat_model": threat_model,
    }


def table_name(vectors):
    """How a card names a word-vector table given as a parameter."""
    return vectors if isinstance(vectors, str) else "in-memory table"


def measure_for_card(
    model,
    X_test,
    y_test,
    modalities,
    *,
    eps=0.1,
    threshold=0.5,
    vectors="glove-6b-50d",
    max_substitutions=STRONGEST_BUDGET,
    random_state=None,
):
    """Score a fitted model clean and under the per-tweet worst case of the strongest attacks.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        Takes ``X_test`` as it is.
    X_test, y_test : DataFrame and array-like
        A test split the model was not trained on.
    modalities : sequence of {"image", "text"}
        What the model reads: :func:`~skmmat.experiments.strongest_attacks` for them.
    eps, threshold, vectors, max_substitutions, random_state
        The threat model, as for :func:`~skmmat.experiments.strongest_attacks`.

    Returns
    -------
    evaluation : dict
        The ``"evaluation"`` entry of a model card (:func:`skmmat.model_card`).
    """
    y_test = np.asarray(y_test)
    clean = prediction_scores(y_test, model.predict(X_test))
    attacks = strongest_attacks(
        modalities,
        eps=eps,
        threshold=threshold,
        vectors=vectors,
        max_substitutions=max_substitutions,
        random_state=random_state,
    )
    worst = attacked_scores(model, X_test, y_test, attacks=list(attacks.values()))
    attacked = {"strongest": attack_entry(worst, worst_case(attacks))}
    return evaluation_card(
        len(y_test), clean, attacked, threat_model(eps, threshold, vectors, max_substitutions)
    )


def threat_model(eps, threshold, vectors, max_substitutions=None):
    """The threat model as a card records it."""
    out = {"eps": float(eps), "threshold": float(threshold), "vectors": table_name(vectors)}
    if max_substitutions is not None:
        out["max_substitutions"] = max_substitutions
    return out
