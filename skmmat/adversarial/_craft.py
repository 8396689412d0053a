"""Joint adversarial examples for both modalities: one gradient per step serves both."""

from __future__ import annotations

from sklearn.base import clone

from .._validation import as_label_array, check_bool
from ._base import estimator_modalities, join_blocks, row_blocks
from ._fgsm import FGSMPerturber
from ._iterative import run_steps
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


def craft_adversarial(
    estimator, X, y=None, *, image_perturber=None, text_perturber=None, joint=False
):
    """Craft one joint adversarial example per row against ``estimator``.

    Both modalities are perturbed from the same gradient at the clean input
    (Algorithm 1, steps 3 to 5), computed once: one ``loss_gradient`` pass
    serves both perturbers whenever they are single-step. Iterative
    perturbers (``n_iter > 1``, a random start, the greedy text search) each
    run their own steps on their own modality by default, the other modality
    held clean, and the results are combined; ``joint=True`` attacks both
    modalities together instead.

    Parameters
    ----------
    estimator : fitted estimator with ``loss_gradient``
        The model attacked (white-box).
    X : pandas.DataFrame
        Preprocessed frame (image and/or text columns).
    y : array-like of shape (n_samples,), optional
        Labels of the loss; None uses the estimator's predictions at the
        clean input.
    image_perturber, text_perturber : perturber, "default" or None
        Templates; cloned, pointed at ``estimator`` and fitted here.
        ``"default"`` is the paper's attack of that modality, None leaves
        it clean, and a perturber whose modality the estimator does not
        read is skipped.
    joint : bool, default=False
        Attack the two modalities jointly when both are attacked and one of
        the perturbers is iterative: each step takes ONE loss gradient at the
        current image and the current text, and makes from it the image's
        projected step and the text's Eq. 2 substitutions (words not yet
        substituted, within ``max_substitutions``, from the original word's
        candidate set), for ``max(n_iter)`` steps; a modality whose
        ``n_iter`` is spent stays as it is. With ``n_restarts > 1`` on the
        image perturber every random image start runs the whole joint attack
        (the text starting clean) and each row keeps the strongest start.
        With ``search="greedy"`` the text search runs after the image attack,
        on the attacked images (a sequential composition). Single-step
        perturbers give the same result either way.

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
    >>> X_joint = craft_adversarial(clf, Xp, df["label"], joint=True,
    ...                             image_perturber=FGSMPerturber(n_iter=3),
    ...                             text_perturber=WordSubstitutionPerturber(n_iter=2))
    """
    joint = check_bool(joint, "joint")
    templates = resolve_perturbers(image_perturber, text_perturber)
    modalities = estimator_modalities(estimator)
    perturbers = [
        clone(template).set_params(estimator=estimator).fit(X, y)
        for template, modality in zip(templates, ("image", "text"))
        if template is not None and modality in modalities
    ]
    out = X.copy()
    single_step = all(p.single_step for p in perturbers)
    if len(perturbers) > 1 and joint and not single_step:
        return _craft_jointly(estimator, X, y, *perturbers)
    if not (len(perturbers) > 1 and single_step):
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


def _craft_jointly(estimator, X, y, image_perturber, text_perturber):
    """The joint multi-step attack of ``craft_adversarial(joint=True)``, fitted perturbers."""
    y = as_label_array(y)
    out = X.copy()
    if text_perturber.search == "greedy":
        # the query-only search takes no gradient step: it runs on the attacked images
        if y is None:  # both attack the clean input's predictions
            y = estimator.predict(X)
        images = image_perturber.craft(X, y)
        adversarial = text_perturber.craft(images, y)
        out["image"] = images["image"]
        for column in text_perturber.written_columns:
            out[column] = adversarial[column]
        return out
    streams = image_perturber.random_streams()  # one per start, for every block
    parts = {}
    for block in row_blocks(len(X)):
        X_block = X.iloc[block]
        steps = [image_perturber.steps(X_block), text_perturber.steps(X_block)]
        run_steps(estimator, X_block, None if y is None else y[block], steps, streams)
        for state in steps:
            for column, values in state.columns().items():
                parts.setdefault(column, []).append(values)
    for column, values in parts.items():
        out[column] = join_blocks(values)
    return out
