"""Joint adversarial examples for both modalities from one gradient."""

from __future__ import annotations

from sklearn.base import clone

from ._base import estimator_modalities

__all__ = ["craft_adversarial"]


def craft_adversarial(estimator, X, y=None, *, image_perturber=None, text_perturber=None):
    """Craft one joint adversarial example per row against ``estimator``.

    Both modalities are perturbed from the same gradient at the clean input
    (Algorithm 1, steps 3 to 5), computed once: one ``loss_gradient`` pass
    serves both perturbers whenever they are single-step. Iterative
    perturbers each run their own steps on their modality, the other
    modality held clean, and the results are combined.

    Parameters
    ----------
    estimator : fitted estimator with ``loss_gradient``
        The model attacked (white-box).
    X : pandas.DataFrame
        Preprocessed frame (image and/or text columns).
    y : array-like of shape (n_samples,), optional
        Labels of the loss; None uses the estimator's predictions.
    image_perturber, text_perturber : perturber or None
        Templates; cloned, pointed at ``estimator`` and fitted here. A
        perturber whose modality the estimator does not read is skipped.

    Returns
    -------
    X_adv : pandas.DataFrame
        A copy of ``X`` with the attacked columns perturbed.

    Examples
    --------
    >>> from skmmat import (FGSMPerturber, GloveSequencer, ImageResizer,
    ...                     MultiModalCNNClassifier, WordSubstitutionPerturber,
    ...                     make_crisis_tweets)
    >>> from skmmat.adversarial import craft_adversarial
    >>> from sklearn.pipeline import make_pipeline
    >>> df = make_crisis_tweets(100, random_state=0)
    >>> Xp = make_pipeline(ImageResizer(), GloveSequencer()).fit_transform(df)
    >>> clf = MultiModalCNNClassifier(max_epochs=2, random_state=0).fit(Xp, df["label"])
    >>> X_adv = craft_adversarial(clf, Xp, df["label"], image_perturber=FGSMPerturber(),
    ...                           text_perturber=WordSubstitutionPerturber())
    >>> X_adv.shape == Xp.shape
    True
    """
    modalities = estimator_modalities(estimator)
    perturbers = []
    for template, modality in ((image_perturber, "image"), (text_perturber, "text")):
        if template is None or modality not in modalities:
            continue
        if getattr(template, "modality", None) != modality:
            raise ValueError(
                f"{modality}_perturber must attack the {modality!r} modality, got "
                f"{type(template).__name__}."
            )
        perturbers.append(clone(template).set_params(estimator=estimator).fit(X, y))
    out = X.copy()
    if not perturbers:
        return out
    gradient = None
    if all(p.single_step for p in perturbers):
        gradient = estimator.loss_gradient(X, y)
    for perturber in perturbers:
        for column, values in perturber._craft_columns(X, y, gradient).items():
            out[column] = values
    return out
