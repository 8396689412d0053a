"""The paper's case study (Fig. 4 and 5): test tweets before and after an attack."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest

import numpy as np

from ..adversarial import craft_adversarial
from ..metrics._adversarial import split_pipeline

__all__ = ["CaseExample", "CaseStudy", "case_study"]


@dataclass
class CaseExample:
    """One test tweet, before and after the attack.

    Attributes
    ----------
    row : int
        Position of the tweet in the frame given to :func:`case_study`.
    label : object
        True label.
    image, image_adv : ndarray of shape (H, W, 3) or None
        The preprocessed image and its adversarial version (None without an
        image column).
    tokens, tokens_adv : tuple of str or None
        The tweet's words and the words after substitution (None without a
        tokens column).
    predictions : dict of str -> dict
        Per model: ``pred`` and ``confidence`` (the predicted class and its
        probability) on the original tweet, ``pred_adv`` and
        ``confidence_adv`` on the adversarial one.
    """

    row: int
    label: object
    image: np.ndarray | None
    image_adv: np.ndarray | None
    tokens: tuple | None
    tokens_adv: tuple | None
    predictions: dict = field(default_factory=dict)

    @property
    def substituted(self):
        """Positions of the words the attack replaced."""
        if self.tokens is None:
            return ()
        pairs = zip_longest(self.tokens, self.tokens_adv)
        return tuple(i for i, (a, b) in enumerate(pairs) if a != b)


@dataclass
class CaseStudy:
    """What :func:`case_study` returns.

    Attributes
    ----------
    attacked : str
        The model the adversarial examples were crafted against.
    examples : list of CaseExample
        The tweets shown (possibly none: the attack flipped no tweet).
    n_rows : int
        Test tweets.
    correct, correct_adv : dict of str -> int
        Per model, the test tweets classified correctly before and after
        the attack.
    flipped_kept : dict of str -> int
        Per model, how many of the tweets the attack flipped for the
        attacked model this model still classifies correctly after it.
    n_flipped : int
        Tweets the attacked model classified correctly and the attack
        flipped.
    """

    attacked: str
    examples: list
    n_rows: int
    correct: dict
    correct_adv: dict
    flipped_kept: dict
    n_flipped: int


def case_study(
    estimators,
    X,
    y,
    *,
    attacked=None,
    n_examples=2,
    image_perturber="default",
    text_perturber="default",
):
    """Test tweets that an attack flips, with each model's answer before and after.

    The paper's Fig. 4 and 5: adversarial examples are crafted against one
    model (MMN in the paper) on the test tweets; among the tweets that
    model classifies correctly and the attack flips, the most confident one
    of each class is shown (then the next most confident, up to
    ``n_examples``), with every model's predicted class and confidence on
    the original and on the adversarial tweet. Passing MMAT beside MMN
    shows what adversarial training changes on the same examples (the
    paper's protocol: examples crafted against the plain model).

    Parameters
    ----------
    estimators : dict of str -> fitted classifier or Pipeline
        The models, by display name. They share their preprocessing; a
        Pipeline's steps but the last are applied once, from the attacked
        model.
    X : pandas.DataFrame
        Test tweets, as the models take them.
    y : array-like of shape (n_samples,)
        True labels (the attack maximises the loss against them).
    attacked : str, optional
        The key of ``estimators`` to craft the examples against; defaults
        to the first.
    n_examples : int, default=2
        Most tweets shown.
    image_perturber, text_perturber : perturber, None or "default"
        The attack, as in :func:`skmmat.metrics.adversarial_score`.

    Returns
    -------
    study : CaseStudy

    Raises
    ------
    ValueError
        If ``estimators`` is empty, ``attacked`` is not one of its keys or
        ``n_examples`` is not a positive integer.
    """
    if not estimators:
        raise ValueError("estimators must name at least one fitted model.")
    attacked = next(iter(estimators)) if attacked is None else attacked
    if attacked not in estimators:
        raise ValueError(f"attacked={attacked!r} is not one of {list(estimators)}.")
    if isinstance(n_examples, bool) or not isinstance(n_examples, int) or n_examples < 1:
        raise ValueError(f"n_examples must be a positive integer, got {n_examples!r}.")
    y = np.asarray(y)
    pre, source = split_pipeline(estimators[attacked])
    Xt = X if pre is None else pre.transform(X)  # once, for the attack and every model
    X_adv = craft_adversarial(
        source, Xt, y, image_perturber=image_perturber, text_perturber=text_perturber
    )
    answers = {}
    for name, estimator in estimators.items():
        model = split_pipeline(estimator)[1]
        answers[name] = [_answer(model, frame) for frame in (Xt, X_adv)]
    (pred, conf), (pred_adv, _) = answers[attacked]
    flipped = np.flatnonzero((pred == y) & (pred_adv != y))
    rows = _pick(flipped, y, conf, n_examples)
    examples = [
        CaseExample(
            row=int(i),
            label=y[i],
            image=_cell(Xt, "image", i),
            image_adv=_cell(X_adv, "image", i),
            tokens=_words(Xt, i),
            tokens_adv=_words(X_adv, i),
            predictions={
                name: {
                    "pred": clean[0][i],
                    "confidence": float(clean[1][i]),
                    "pred_adv": adv[0][i],
                    "confidence_adv": float(adv[1][i]),
                }
                for name, (clean, adv) in answers.items()
            },
        )
        for i in rows
    ]
    return CaseStudy(
        attacked=attacked,
        examples=examples,
        n_rows=len(y),
        correct={n: int((a[0][0] == y).sum()) for n, a in answers.items()},
        correct_adv={n: int((a[1][0] == y).sum()) for n, a in answers.items()},
        flipped_kept={n: int((a[1][0][flipped] == y[flipped]).sum()) for n, a in answers.items()},
        n_flipped=len(flipped),
    )


def _answer(model, X):
    """(predicted class, its probability) per row."""
    proba = model.predict_proba(X)
    return model.classes_[proba.argmax(1)], proba.max(1)


def _pick(flipped, y, conf, n):
    """The most confident flipped row of each class, then the next most confident."""
    order = flipped[np.argsort(-conf[flipped], kind="stable")]
    chosen = []
    for label in dict.fromkeys(y[order]):
        chosen.append(next(i for i in order if y[i] == label))
    chosen = chosen[:n]
    chosen += [i for i in order if i not in chosen][: n - len(chosen)]
    return chosen


def _cell(frame, column, i):
    return np.asarray(frame[column].iloc[i]) if column in frame.columns else None


def _words(frame, i):
    return tuple(frame["tokens"].iloc[i]) if "tokens" in frame.columns else None
