"""Table I's six models: their names and the factory that builds them."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from ..adversarial import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    RandomizedSmoothingClassifier,
    WordSubstitutionPerturber,
)
from ..adversarial._in_loop import in_loop_image_perturber
from ..adversarial._methods import IN_LOOP_ATTACKS, METHODS
from ..models import MultiModalCNNClassifier
from ..preprocessing import GloveSequencer, ImageResizer
from ._attacks import STRONGEST_BUDGET

__all__ = ["PLAIN_COUNTERPART", "TABLE1_MODELS", "make_table1_model"]

#: Table I's six columns: name -> (modalities, adversarially trained, label)
TABLE1_MODELS = {
    "visual_cnn": (("image",), False, "Visual-CNN"),
    "visual_cnn_adv": (("image",), True, "Visual-CNN_adv"),
    "text_cnn": (("text",), False, "Text-CNN"),
    "text_cnn_adv": (("text",), True, "Text-CNN_adv"),
    "mmn": (("image", "text"), False, "MMN"),
    "mmat": (("image", "text"), True, "MMAT"),
}

#: the robust trainings of the ``_adv`` models and MMAT: the wrapper's methods and smoothing
TRAININGS = (*METHODS, "smoothing")

#: the plain model each adversarially trained one is compared with
PLAIN_COUNTERPART = {"visual_cnn_adv": "visual_cnn", "text_cnn_adv": "text_cnn", "mmat": "mmn"}


def check_name(name):
    if name not in TABLE1_MODELS:
        raise ValueError(f"Unknown model {name!r}; choose from {list(TABLE1_MODELS)}.")
    return TABLE1_MODELS[name]


def make_table1_model(
    name,
    *,
    eps=0.1,
    threshold=0.5,
    n_rounds=1,
    warm_start=False,
    method="algorithm1",
    random_state=None,
    image_size=(64, 64),
    vectors="glove-6b-50d",
    preprocessing=True,
    **classifier_params,
):
    """One of Table I's six models with the paper's hyper-parameters.

    Parameters
    ----------
    name : {"visual_cnn", "visual_cnn_adv", "text_cnn", "text_cnn_adv", "mmn", "mmat"}
        The column of Table I.
    eps : float, default=0.1
        FGSM step (images) and text perturbation scale of the ``_adv``
        models and MMAT.
    threshold : float, default=0.5
        Word-substitution threshold (Equation 2).
    n_rounds : int, default=1
        Rounds of adversarial training (1 is the paper's Algorithm 1).
    warm_start : bool, default=False
        The wrapper's ``warm_start``: each round continues training the
        current model instead of training a new one. With ``n_rounds > 1``
        this is what buys robustness against a white-box attacker (see
        :class:`~skmmat.AdversarialAugmentationWrapper`).
    method : {"algorithm1", "in_loop", "ibp", "trades", "smoothing"}, default="algorithm1"
        How the ``_adv`` models and MMAT are made robust. The wrapper's
        ``method``: the paper's Algorithm 1; in-loop adversarial training
        (every batch attacked against the current weights: images by one
        FGSM step of 1.25 ``eps`` from a random start, texts by Eq. 2); or
        certified training (interval bounds over the ``eps`` ball and each
        word's 10 candidates, the box ramped over the wrapper's default
        ``ramp_epochs``); or TRADES (the in-loop attack, the clean loss plus
        6 times the divergence between clean and adversarial predictions).
        Or ``"smoothing"``: a
        :class:`~skmmat.adversarial.RandomizedSmoothingClassifier` of the
        classifier with its defaults, certified against the strongest
        attacks' budget of 3 words (text models only); the classifier
        evaluates 256 rows per pass unless ``eval_batch_size`` is given.
        Unused by the plain models.
    random_state : int, optional
        Seed of the classifier (and of the wrapper for adversarial models).
    image_size : tuple of int, default=(64, 64)
        ImageResizer output size.
    vectors : str, path-like or mapping, default="glove-6b-50d"
        Word-vector table of the sequencer and the text perturber.
    preprocessing : bool, default=True
        Prepend ImageResizer / GloveSequencer for the modalities in use.
        With False the model expects already preprocessed frames.
    **classifier_params
        Passed to :class:`~skmmat.MultiModalCNNClassifier` (e.g.
        ``max_epochs``, ``hidden_units``).

    Returns
    -------
    model : Pipeline or estimator

    Examples
    --------
    >>> from skmmat.experiments import make_table1_model
    >>> make_table1_model("text_cnn_adv", max_epochs=5).steps[-1][0]
    'adversarialaugmentationwrapper'
    """
    modalities, adversarial, _ = check_name(name)
    if method not in TRAININGS:
        raise ValueError(f"method must be one of {list(TRAININGS)}, got {method!r}.")
    clf = MultiModalCNNClassifier(
        modalities=modalities, random_state=random_state, **classifier_params
    )
    model = clf
    if adversarial and method == "smoothing":
        if "text" not in modalities or n_rounds != 1 or warm_start:
            raise ValueError(
                "method='smoothing' smooths the text of text_cnn_adv or mmat, in one fit: "
                f"got {name!r} with n_rounds={n_rounds!r}, warm_start={warm_start!r}."
            )
        if "eval_batch_size" not in classifier_params:
            clf.set_params(eval_batch_size=256)  # a vote runs it on 100 copies of each tweet
        model = RandomizedSmoothingClassifier(
            clf,
            WordSubstitutionPerturber(
                vectors=vectors, eps=eps, threshold=threshold, max_substitutions=STRONGEST_BUDGET
            ),
            random_state=random_state,
        )
    elif adversarial:
        # in the loop, the wrapper's own default image attack at this eps
        image_perturber = (
            in_loop_image_perturber(eps) if method in IN_LOOP_ATTACKS else FGSMPerturber(eps=eps)
        )
        model = AdversarialAugmentationWrapper(
            clf,
            image_perturber=image_perturber,
            text_perturber=WordSubstitutionPerturber(vectors=vectors, eps=eps, threshold=threshold),
            n_rounds=n_rounds,  # the wrapper refuses them for another method than algorithm1
            warm_start=warm_start,
            random_state=random_state,
            method=method,
        )
    if not preprocessing:
        return model
    steps = []
    if "image" in modalities:
        steps.append(("imageresizer", ImageResizer(size=image_size)))
    if "text" in modalities:
        steps.append(("glovesequencer", GloveSequencer(vectors=vectors)))
    steps.append((type(model).__name__.lower(), model))
    return Pipeline(steps)
