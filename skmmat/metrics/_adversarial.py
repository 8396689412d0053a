"""Robust evaluation: scores on adversarial examples (the paper's Table I rows)."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from .._validation import check_bool
from ..adversarial import craft_adversarial, resolve_perturbers
from ._scores import check_metric, score_predictions

__all__ = [
    "adversarial_accuracy",
    "adversarial_predictions",
    "adversarial_score",
    "make_adversarial_scorer",
]

_DEFAULT = "default"


def split_pipeline(estimator):
    """(preprocessing steps or None, the model attacked)."""
    if isinstance(estimator, Pipeline):
        pre = estimator[:-1] if len(estimator.steps) > 1 else None
        return pre, estimator.steps[-1][1]
    return None, estimator


def adversarial_score(
    estimator,
    X,
    y,
    *,
    metric="accuracy",
    image_perturber=_DEFAULT,
    text_perturber=_DEFAULT,
    against=None,
    attacks=None,
    joint=False,
    return_examples=False,
):
    """A score on adversarial examples crafted white-box against a model.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        The model evaluated. For a Pipeline, ``X`` goes through every step
        but the last, and the last step is attacked and evaluated.
    X : pandas.DataFrame
        Raw input of ``estimator`` (the preprocessed frame for a bare
        classifier).
    y : array-like of shape (n_samples,)
        True labels: the attack maximises the loss against them, as in the
        paper's Equation 1.
    metric : str or callable, default="accuracy"
        ``"accuracy"``, ``"balanced_accuracy"``, ``"macro_f1"``,
        ``"weighted_f1"`` (:data:`skmmat.metrics.SCORES`) or a callable
        ``metric(y_true, y_pred)``.
    image_perturber, text_perturber : perturber, None or "default"
        Attacks of each modality; ``"default"`` is the paper's
        (``FGSMPerturber()`` with eps 0.1, ``WordSubstitutionPerturber()``
        with threshold 0.5); None leaves that modality clean.
    against : fitted classifier or Pipeline, optional
        The model the examples are crafted against; defaults to
        ``estimator`` itself (white-box). Pass the clean model to measure a
        transfer attack on an adversarially trained one, as the paper's
        Table I does. Its preprocessing must match ``estimator``'s; when it
        is a Pipeline, its last step is attacked on ``estimator``'s
        preprocessed input.
    attacks : list of dict, optional
        Several attacks, each a dict with ``"image_perturber"`` and/or
        ``"text_perturber"`` (a missing key is None: that modality clean),
        scored as one worst case: a tweet counts as robust only if every
        attack leaves it correctly classified, and a tweet one of them breaks
        gets that attack's prediction. Replaces ``image_perturber`` and
        ``text_perturber``, which must then be left at their defaults. An
        item may also hold ``"joint"`` (overriding ``joint`` for that
        attack).
    joint : bool, default=False
        Attack both modalities jointly when one of the perturbers is
        iterative: one gradient per step at the current image and text (see
        :func:`~skmmat.adversarial.craft_adversarial`). False runs each
        perturber on its own modality, the other held clean, and combines
        the results.
    return_examples : bool, default=False
        Also return the preprocessed adversarial frame (with ``attacks``,
        each row from the attack that broke it, else from the last one).

    Returns
    -------
    score : float
    X_adv : pandas.DataFrame
        Only when ``return_examples`` is True.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmmat import (GloveSequencer, ImageResizer, MultiModalCNNClassifier,
    ...                     make_crisis_tweets)
    >>> from skmmat.metrics import adversarial_score
    >>> df = make_crisis_tweets(200, random_state=0)
    >>> X, y = df[["image", "text"]], df["label"]
    >>> pipe = make_pipeline(ImageResizer(), GloveSequencer(),
    ...                      MultiModalCNNClassifier(max_epochs=3, random_state=0)).fit(X, y)
    >>> bool(adversarial_score(pipe, X, y, metric="macro_f1") < pipe.score(X, y))
    True
    """
    check_metric(metric)
    y_pred, X_adv = adversarial_predictions(
        estimator,
        X,
        y,
        image_perturber=image_perturber,
        text_perturber=text_perturber,
        against=against,
        attacks=attacks,
        joint=joint,
    )
    score = score_predictions(metric, y, y_pred)
    return (score, X_adv) if return_examples else score


def adversarial_predictions(
    estimator,
    X,
    y,
    *,
    image_perturber=_DEFAULT,
    text_perturber=_DEFAULT,
    against=None,
    attacks=None,
    joint=False,
):
    """Predictions of a model on adversarial examples, and the examples.

    One crafting pass and one prediction pass, from which any number of
    scores can be computed (:func:`~skmmat.metrics.prediction_scores`).
    The parameters are those of :func:`adversarial_score`.

    Returns
    -------
    y_pred : ndarray of shape (n_samples,)
        The evaluated model's predictions on the adversarial examples.
    X_adv : pandas.DataFrame
        The preprocessed adversarial frame.
    """
    attacks = _check_attacks(attacks, image_perturber, text_perturber, joint)
    pre, model = split_pipeline(estimator)
    Xt = X if pre is None else pre.transform(X)
    source = model if against is None else split_pipeline(against)[1]
    y = np.asarray(y)
    y_pred = X_adv = None
    for attack in attacks:
        X_k = craft_adversarial(source, Xt, y, **attack)
        pred_k = model.predict(X_k)
        if y_pred is None:
            y_pred, X_adv = pred_k, X_k
            continue
        # a row keeps its first break; a row no attack broke so far takes this attack's
        take = y_pred == y
        y_pred = np.where(take, pred_k, y_pred)
        X_adv = _take_rows(X_adv, X_k, take)
    return y_pred, X_adv


def _check_attacks(attacks, image_perturber, text_perturber, joint=False):
    """The list of craft_adversarial keyword sets to run."""
    joint = check_bool(joint, "joint")
    if attacks is None:
        return [
            {"image_perturber": image_perturber, "text_perturber": text_perturber, "joint": joint}
        ]
    if not (isinstance(image_perturber, str) and image_perturber == _DEFAULT) or not (
        isinstance(text_perturber, str) and text_perturber == _DEFAULT
    ):
        raise ValueError(
            "Pass either 'attacks' or 'image_perturber'/'text_perturber', not both: "
            "'attacks' lists each attack's perturbers."
        )
    if not isinstance(attacks, list | tuple) or not attacks:
        raise ValueError(f"'attacks' must be a non-empty list of dicts, got {attacks!r}.")
    out = []
    for attack in attacks:
        if not isinstance(attack, dict) or set(attack) - {
            "image_perturber",
            "text_perturber",
            "joint",
        }:
            raise ValueError(
                "Each item of 'attacks' must be a dict with the keys 'image_perturber' "
                f"and/or 'text_perturber' (and optionally 'joint'), got {attack!r}."
            )
        kwargs = {"image_perturber": None, "text_perturber": None, "joint": joint, **attack}
        resolve_perturbers(kwargs["image_perturber"], kwargs["text_perturber"], "attacks")
        kwargs["joint"] = check_bool(kwargs["joint"], "joint")
        out.append(kwargs)
    return out


def _take_rows(frame, other, mask):
    """``frame`` with the rows where ``mask`` holds taken from ``other`` (same shape)."""
    out = frame.copy()
    for column in frame.columns:
        values = frame[column].to_numpy(copy=True)
        values[mask] = other[column].to_numpy()[mask]
        out[column] = values
    return out


def adversarial_accuracy(
    estimator,
    X,
    y,
    *,
    image_perturber=_DEFAULT,
    text_perturber=_DEFAULT,
    against=None,
    attacks=None,
    joint=False,
    return_examples=False,
):
    """Accuracy on adversarial examples: :func:`adversarial_score` with ``metric="accuracy"``.

    See :func:`adversarial_score` for the parameters. Report a
    class-balanced score beside it (``metric="macro_f1"``): a model that
    predicts one class for every tweet can look accurate and robust at once.
    """
    return adversarial_score(
        estimator,
        X,
        y,
        metric="accuracy",
        image_perturber=image_perturber,
        text_perturber=text_perturber,
        against=against,
        attacks=attacks,
        joint=joint,
        return_examples=return_examples,
    )


def make_adversarial_scorer(
    *,
    metric="accuracy",
    image_perturber=_DEFAULT,
    text_perturber=_DEFAULT,
    attacks=None,
    joint=False,
):
    """A scorer of a white-box adversarial score for model selection.

    The returned callable ``scorer(estimator, X, y)`` crafts adversarial
    examples against the very estimator being scored (see
    :func:`adversarial_score`) and returns ``metric`` on them. Use it in
    :class:`~sklearn.model_selection.GridSearchCV` or in the ``scoring`` dict
    of :func:`~sklearn.model_selection.cross_validate`.

    Parameters
    ----------
    metric : str or callable, default="accuracy"
        The score; see :func:`adversarial_score`.
    image_perturber, text_perturber : perturber, None or "default"
        The attacks; see :func:`adversarial_score`.
    attacks : list of dict, optional
        Several attacks scored as their per-tweet worst case; see
        :func:`adversarial_score`.
    joint : bool, default=False
        Attack both modalities jointly; see :func:`adversarial_score`.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from skmmat.metrics import make_adversarial_scorer
    >>> scoring = {"accuracy": "accuracy", "f1": "f1_macro",
    ...            "adversarial": make_adversarial_scorer(),
    ...            "adversarial_f1": make_adversarial_scorer(metric="macro_f1")}
    """
    if attacks is None:
        resolve_perturbers(image_perturber, text_perturber, "make_adversarial_scorer")
    _check_attacks(attacks, image_perturber, text_perturber, joint)
    check_metric(metric)
    return _AdversarialScorer(metric, image_perturber, text_perturber, attacks, joint)


class _AdversarialScorer:
    """Picklable scorer object returned by :func:`make_adversarial_scorer`."""

    def __init__(self, metric, image_perturber, text_perturber, attacks=None, joint=False):
        self.metric = metric
        self.image_perturber = image_perturber
        self.text_perturber = text_perturber
        self.attacks = attacks
        self.joint = joint

    def __call__(self, estimator, X, y):
        return adversarial_score(
            estimator,
            X,
            y,
            metric=self.metric,
            image_perturber=self.image_perturber,
            text_perturber=self.text_perturber,
            attacks=self.attacks,
            joint=self.joint,
        )

    def __repr__(self):
        joint = ", joint=True" if self.joint else ""
        if self.attacks is not None:
            return (
                f"make_adversarial_scorer(metric={self.metric!r}, attacks={self.attacks!r}{joint})"
            )
        return (
            f"make_adversarial_scorer(metric={self.metric!r}, "
            f"image_perturber={self.image_perturber!r}, "
            f"text_perturber={self.text_perturber!r}{joint})"
        )
