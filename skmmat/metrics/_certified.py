"""Certified robustness: a lower bound on accuracy that no attack in the threat model breaks.

An attack can only show that a model is not robust: a tweet it fails to
break may fall to a stronger one. A certificate proves the opposite: for a
certified tweet, no input inside the threat model changes the prediction.
The certificates here come from interval bound propagation (Gowal et al.,
2018) through the network, over the box of inputs the perturbers' threat
model allows (:class:`~skmmat.adversarial.ThreatModel`, :mod:`skmmat.adversarial._bounds`).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .._torch_state import torch_threads
from ..adversarial import (
    ThreatModel,
    check_boundable,
    estimator_modalities,
    margin_bounds,
    resolve_perturbers,
)
from ..models._inputs import encode_labels
from ..models._passes import eval_batch_size
from ._adversarial import split_pipeline

__all__ = ["certified_accuracy", "certify", "make_certified_scorer"]

_DEFAULT = "default"

#: relative allowance for float32 rounding subtracted from every lower margin bound
ROUNDING_ALLOWANCE = 1e-4


def certify(estimator, X, y, *, image_perturber=_DEFAULT, text_perturber=_DEFAULT):
    """Per-tweet certificates of robustness under the perturbers' threat model.

    A tweet is certified when interval bound propagation proves that every
    input inside the threat model is classified as its true label: the
    lower bound of ``logit_y - logit_j`` over the whole threat model is
    positive for every other class ``j``. The threat model is read from the
    perturbers:

    * image (:class:`~skmmat.FGSMPerturber`): every image within ``eps`` of
      the clean one in each pixel, clipped to ``clip`` (None: unclipped), as
      FGSM, PGD or any other attack of that budget can reach;
    * text (:class:`~skmmat.WordSubstitutionPerturber`): every in-vocabulary
      word replaced or not by any allowed candidate of its own (its
      ``n_candidates`` nearest words under ``metric``, within
      ``max_distance``), all positions at once. Each position ranges over the
      box spanned by its word and its candidates (Jia et al., 2019), which
      holds every such substitution: the certificate covers any number of
      substituted words, and so any ``max_substitutions`` budget (which is
      ignored). ``eps``, ``threshold``, ``search`` and ``n_iter`` describe
      how an attack searches, not what it may reach, and play no part.

    Both modalities vary together. The bounds are computed as the network
    computes, in float32 (about two forward passes), and each margin's lower
    bound is lowered by :data:`ROUNDING_ALLOWANCE` times the margins' scale
    (``1 + |lower| + |upper|``), which covers float32 rounding with room to
    spare; they are conservative (a tweet that is not certified may still be
    robust).

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        A fitted :class:`~skmmat.MultiModalCNNClassifier`, a wrapper of one
        (such as :class:`~skmmat.AdversarialAugmentationWrapper`, whose
        ``estimator_`` is certified) or a Pipeline whose last step is one of
        these: ``X`` then goes through every step but the last.
    X : pandas.DataFrame
        Raw input of ``estimator`` (the preprocessed frame for a bare
        classifier).
    y : array-like of shape (n_samples,)
        True labels.
    image_perturber, text_perturber : perturber, None or "default"
        The threat model of each modality; ``"default"`` is the paper's
        (``FGSMPerturber()``: eps 0.1 in [0, 1]; ``WordSubstitutionPerturber()``:
        10 GloVe neighbours), None holds that modality fixed. A perturber of
        a modality the model does not read is ignored.

    Returns
    -------
    certified : ndarray of bool of shape (n_samples,)
        Whether each tweet is certified.
    margins : ndarray of float64 of shape (n_samples,)
        The lower bound of ``min_j (logit_y - logit_j)`` over the threat
        model, less the rounding allowance; positive exactly where
        ``certified`` holds.

    Raises
    ------
    ValueError
        If the model is no network skmmat can bound (a layer without sound
        bounds, no MultiModalCNNClassifier inside), a perturber is of the
        wrong modality or has invalid parameters, or ``X`` or ``y`` do not
        fit the model.

    See Also
    --------
    certified_accuracy : the share of certified tweets.
    skmmat.metrics.adversarial_accuracy : accuracy under one attack (an upper bound).

    Examples
    --------
    >>> from skmmat import (FGSMPerturber, MultiModalCNNClassifier, ImageResizer,
    ...                     make_crisis_tweets)
    >>> from skmmat.metrics import certify
    >>> df = make_crisis_tweets(100, random_state=0)
    >>> X = ImageResizer(size=(16, 16)).fit_transform(df[["image"]])
    >>> clf = MultiModalCNNClassifier(modalities=("image",), max_epochs=2,
    ...                               random_state=0).fit(X, df["label"])
    >>> certified, margins = certify(clf, X, df["label"],
    ...                              image_perturber=FGSMPerturber(eps=0.001))
    >>> bool(((margins > 0) == certified).all())
    True
    """
    return _certify(estimator, X, y, image_perturber, text_perturber, "certify")


def certified_accuracy(estimator, X, y, *, image_perturber=_DEFAULT, text_perturber=_DEFAULT):
    """Certified accuracy: the share of tweets that no attack in the threat model misclassifies.

    A lower bound on the accuracy under every attack within the perturbers'
    threat model (the accuracy under any one attack is an upper bound). See
    :func:`certify` for the threat model, the parameters and the errors.
    Report it beside the majority-class rate, the clean accuracy and
    macro-F1, and the accuracy under the strongest attack.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from skmmat import MultiModalCNNClassifier, ImageResizer, make_crisis_tweets
    >>> from skmmat.metrics import certified_accuracy
    >>> df = make_crisis_tweets(100, random_state=0)
    >>> X = ImageResizer(size=(16, 16)).fit_transform(df[["image"]])
    >>> clf = MultiModalCNNClassifier(modalities=("image",), max_epochs=2,
    ...                               random_state=0).fit(X, df["label"])
    >>> 0 <= certified_accuracy(clf, X, df["label"]) <= clf.score(X, df["label"])
    True
    """
    certified, _ = _certify(estimator, X, y, image_perturber, text_perturber, "certified_accuracy")
    return float(np.mean(certified))


def make_certified_scorer(*, image_perturber=_DEFAULT, text_perturber=_DEFAULT):
    """A scorer of the certified accuracy, for model selection.

    The returned callable ``scorer(estimator, X, y)`` is
    :func:`certified_accuracy` of the very estimator being scored; use it in
    :class:`~sklearn.model_selection.GridSearchCV` or in the ``scoring`` dict
    of :func:`~sklearn.model_selection.cross_validate`.

    Parameters
    ----------
    image_perturber, text_perturber : perturber, None or "default"
        The threat model; see :func:`certify`.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from skmmat import FGSMPerturber
    >>> from skmmat.metrics import make_certified_scorer
    >>> scoring = {"accuracy": "accuracy",
    ...            "certified": make_certified_scorer(image_perturber=FGSMPerturber(eps=0.01))}
    """
    caller = "make_certified_scorer"
    image_t, text_t = resolve_perturbers(image_perturber, text_perturber, caller)
    for template in (image_t, text_t):
        if template is not None:
            clone(template).threat_model()  # validates the parameters, loads the table
    return _CertifiedScorer(image_perturber, text_perturber)


class _CertifiedScorer:
    """Picklable scorer object returned by :func:`make_certified_scorer`."""

    def __init__(self, image_perturber, text_perturber):
        self.image_perturber = image_perturber
        self.text_perturber = text_perturber

    def __call__(self, estimator, X, y):
        return certified_accuracy(
            estimator,
            X,
            y,
            image_perturber=self.image_perturber,
            text_perturber=self.text_perturber,
        )

    def __repr__(self):
        return (
            f"make_certified_scorer(image_perturber={self.image_perturber!r}, "
            f"text_perturber={self.text_perturber!r})"
        )


def _certify(estimator, X, y, image_perturber, text_perturber, caller):
    image_t, text_t = resolve_perturbers(image_perturber, text_perturber, caller)
    pre, model = split_pipeline(estimator)
    check_is_fitted(model)
    clf = _network_classifier(model, caller)
    module = clf.net_.module_
    check_boundable(module)
    Xt = X if pre is None else pre.transform(X)
    inputs = clf.model_inputs(Xt)
    y_enc = encode_labels(y, clf.classes_, len(Xt), caller)
    modalities = estimator_modalities(clf)
    image = text = rows = None
    if image_t is not None and "image" in modalities:
        image = clone(image_t).threat_model()
    if text_t is not None and "text" in modalities:
        text = clone(text_t).threat_model()
        boxes, rows = text.word_boxes(Xt, caller)
    threat = ThreatModel.combine(image, text)
    device = clf.net_.device
    margins = np.empty(len(Xt), dtype=np.float64)
    size = eval_batch_size(clf.eval_batch_size, device)
    with torch_threads(clf.n_threads), torch.no_grad():
        for start in range(0, len(Xt), size):
            part = slice(start, start + size)
            points = {
                m: torch.as_tensor(np.asarray(a[part]), dtype=torch.float32, device=device)
                for m, a in inputs.items()
            }
            lower, upper = dict(points), dict(points)
            if image is not None:
                lower["image"], upper["image"] = threat.image_box(points["image"])
            if text is not None:
                lower["text"], upper["text"] = boxes.bounds(points["text"], rows[part])
            target = torch.as_tensor(y_enc[part], device=device)
            low, high = margin_bounds(module, lower, upper, target)
            # the network's float32 arithmetic rounds; the allowance keeps the bound below
            # what exact arithmetic gives (float32 and float64 bounds of real models
            # differ by under 1e-6 of it)
            low = low - ROUNDING_ALLOWANCE * (1 + low.abs() + high.abs())
            low[torch.arange(len(target), device=device), target] = torch.inf
            margins[part] = low.amin(dim=1).double().cpu().numpy()
    return margins > 0, margins


def _network_classifier(model, caller):
    """The MultiModalCNNClassifier inside ``model`` (through wrappers' ``estimator_``)."""
    est = model
    for _ in range(16):
        if hasattr(est, "net_") and hasattr(est, "model_inputs"):
            return est
        inner = getattr(est, "estimator_", None)
        if inner is None:
            break
        est = inner
    raise ValueError(
        f"{caller}: certificates are computed through the network of a fitted "
        f"MultiModalCNNClassifier; {type(model).__name__} holds none."
    )
