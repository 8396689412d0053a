"""Joint adversarial examples for both modalities from one gradient."""

from __future__ import annotations

from sklearn.base import clone

from .._validation import as_label_array
from ._base import estimator_modalities, join_blocks, row_blocks
from ._fgsm import FGSMPerturber
from ._word_substitution import WordSubstitutionPerturber

__all__ = ["craft_adversarial", "resolve_perturbers"]

#: what ``"default"`` stands for, per modality: the paper's two attacks
_DEFAULT_PERTURBERS = {"image": FGSMPerturber, "text": WordSubstitutionPerturber}


def resolve_perturbers(image_perturber, text_perturber, caller="craft_adversarial"):
    """The two perturber templates, with ``"default"`` made the paper's attack.

    Parameters
    ----------
    image_perturber, text_perturber : perturber, "default" or None
        ``"default"`` becomes a new ``FGSMPerturber()`` (eps 0.1) or
        ``WordSubstitutionPerturber()`` (eps 0.1, threshold 0.5); None stays
        None (that modality is left clean).
    caller : str
        Name used in error messages.

    Returns
    -------
    image_perturber, text_perturber : perturber or None

    Raises
    ------
    ValueError
        If a perturber attacks the other modality, or a string is not
        ``"default"``.
    """
    out = []
    for value, modality in ((image_perturber, "image"), (text_perturber, "text")):
        name = f"{modality}_perturber"
        if isinstance(value, str):
            if value != "default":
                raise ValueError(
                    f"The {name!r} parameter of {caller} must be a perturber, 'default' or "
                    f"None. Got {value!r} instead."
                )
            value = _DEFAULT_PERTURBERS[modality]()
        if value is not None and getattr(value, "modality", None) != modality:
            raise ValueError(
                f"The {name!r} parameter of {caller} must attack the {modality!r} modality. "
                f"Got {type(value).__name__}, which attacks "
                f"{getattr(value, 'modality', None)!r}."
            )
        out.append(value)
    return tuple(out)


def craft_adversarial(estimator, X, y=None, *, image_perturber=None, text_perturber=None):
    """Craft one joint adversarial example per row against ``estimator``.

    Both modalities are perturbed from the same gradient at the clean input
    (Algorithm 1, steps 3 to 5), computed once: one ``loss_gradient`` pass
    serves both perturbers whenever they are single-step. Iterative
    perturbers each run their own steps on their modality, the other
    modality held clean, and the results are combined. Each perturber
    crafts through its public :meth:`~skmmat.adversarial.BasePerturber.craft`.

    Parameters
    ----------
    estimator : fitted estimator with ``loss_gradient``
        The model attacked (white-box).
    X : pandas.DataFrame
        Preprocessed frame (image and/or text columns).
    y : array-like of shape (n_samples,), optional
        Labels of the loss; None uses the estimator's predictions.
    image_perturber, text_perturber : perturber, "default" or None
        Templates; cloned, pointed at ``estimator`` and fitted here.
        ``"default"`` is the paper's attack of that modality, None leaves
        it clean, and a perturber whose modality the estimator does not
        read is skipped.

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
    templates = resolve_perturbers(image_perturber, text_perturber)
    modalities = estimator_modalities(estimator)
    perturbers = [
        clone(template).set_params(estimator=estimator).fit(X, y)
        for template, modality in zip(templates, ("image", "text"))
        if template is not None and modality in modalities
    ]
    out = X.copy()
    if not (len(perturbers) > 1 and all(p.single_step for p in perturbers)):
        for perturber in perturbers:  # each crafts a block of rows at a time
            adversarial = perturber.craft(X, y)
            for column in perturber.written_columns:
                out[column] = adversarial[column]
        return out
    y = as_label_array(y)
    parts = {}
    # one gradient per block of rows serves both perturbers: the block's gradient is all
    # that is held beside the adversarial cells
    for block in row_blocks(len(X)):
        X_block = X.iloc[block]
        y_block = None if y is None else y[block]
        gradient = estimator.loss_gradient(X_block, y_block)
        for perturber in perturbers:
            adversarial = perturber.craft(X_block, y_block, gradient=gradient)
            for column in perturber.written_columns:
                parts.setdefault(column, []).append(adversarial[column].to_numpy())
    for column, values in parts.items():
        out[column] = join_blocks(values)
    return out
