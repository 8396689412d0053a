"""AdversarialAugmentationWrapper: the paper's Algorithm 1 as a meta-estimator."""

from __future__ import annotations

import copy
import time
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._allocator import release_freed_memory
from .._validation import check_dataframe, check_labels
from ._base import estimator_modalities
from ._craft import craft_adversarial, resolve_perturbers
from ._ibp import make_interval_bound_loss
from ._in_loop import in_loop_image_perturber, make_batch_attack

__all__ = ["AdversarialAugmentationWrapper"]

_DEFAULT = "default"
#: the column numbering each training row and its adversarial twin in a refit
_PAIR_COLUMN = "_mmat_pair"


def _check_attacked(image_p, text_p, modalities, caller):
    """ValueError unless a perturber attacks a modality the estimator reads."""
    if not (
        (image_p is not None and "image" in modalities)
        or (text_p is not None and "text" in modalities)
    ):
        raise ValueError(
            f"{caller}: no perturber attacks the modalities the estimator reads "
            f"({list(modalities)}); set image_perturber or text_perturber."
        )


def _template_modalities(estimator, caller):
    """Modalities an unfitted estimator will read (its ``modalities`` parameter)."""
    modalities = estimator.get_params(deep=False).get("modalities", ("image", "text"))
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if not modalities:
        raise ValueError(f"{caller}: the estimator reads no modality.")
    return modalities


def _estimator_has(name):
    """Check the fitted model if there is one, else the unfitted template."""

    def check(self):
        inner = self.estimator_ if hasattr(self, "estimator_") else self.estimator
        getattr(inner, name)  # raises AttributeError, as available_if wants
        return True

    return check


class AdversarialAugmentationWrapper(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Multi-modal adversarial training (MMAT, the paper's Algorithm 1).

    1. Fit a clone of ``estimator`` on ``(X, y)``.
    2. Craft one joint adversarial example per training row against it:
       images by FGSM (Equation 1), texts by word substitution (Equation 2),
       both from the same gradient at the clean input.
    3. Fit again on the original rows plus their adversarial copies (2n
       rows), from scratch or, with ``warm_start=True``, continuing from the
       first model's weights. Early stopping's validation split keeps each
       row with its adversarial twin (``validation_groups``), so that no
       validation row has a near copy in the training part.

    ``n_rounds=1`` is exactly Algorithm 1. ``n_rounds=k > 1`` goes beyond the
    paper and repeats steps 2 and 3 ``k`` times, each round crafting the
    adversarial half against the current model. One round buys robustness
    against the first model's adversarial examples, not against an attacker
    who sees the retrained model. Several rounds move towards the latter
    only with ``warm_start=True``, so that the model attacked in a round is
    the one trained next: refitted from scratch, each round's model is again
    one that no attack was crafted against. Text-CNN on CrisisMMD, three
    rounds, mean accuracy under a white-box attack over 5 seeds, refitted vs
    warm-started: 25.0 vs 57.1 % (California wildfires), 34.7 vs 61.8 %
    (Hurricane Harvey), 19.0 vs 49.0 % (Mexico earthquake), 65.8 vs 82.5 %
    (Sri Lanka floods); see the documentation's results page. That is resistance
    to Eq. 2, the attack the rounds train with: the query-only greedy search
    (``WordSubstitutionPerturber(search="greedy")``) breaks such rounds more
    easily than a plain model. ``method="in_loop"`` attacks every training batch.

    Perturbers act at training time only: ``predict``, ``predict_proba`` and
    ``score`` are the final model's, on the input as given. Setting a
    perturber to None skips that modality (Visual-CNN_adv and Text-CNN_adv of
    the paper's Table I are this wrapper around a single-modality
    classifier, whose other perturber is skipped automatically).

    Parameters
    ----------
    estimator : estimator with ``loss_gradient``
        The classifier trained adversarially, e.g.
        :class:`~skmmat.MultiModalCNNClassifier`; cloned, never modified.
    image_perturber : FGSMPerturber, "default" or None, default="default"
        Template of the image attack (its ``estimator`` is set for you).
        ``"default"`` is the paper's ``FGSMPerturber()`` (eps 0.1); None
        skips the image modality. To tune the attack, pass a perturber
        (``image_perturber=FGSMPerturber(eps=0.05)``); its parameters are
        then reachable as ``image_perturber__eps``.
    text_perturber : WordSubstitutionPerturber, "default" or None, default="default"
        Template of the text attack; ``"default"`` is the paper's
        ``WordSubstitutionPerturber()`` (eps 0.1, threshold 0.5), None skips
        the text modality.
    n_rounds : int, default=1
        Rounds of crafting and refitting; combine ``n_rounds > 1`` with
        ``warm_start=True``.
    warm_start : bool, default=False
        Continue training the current model on the augmented data instead of
        refitting from scratch; needs an estimator with a ``warm_start``
        parameter.
    random_state : int, RandomState instance or None, default=None
        When set, seeds every inner fit (estimators and perturbers with a
        ``random_state`` parameter), making the whole procedure
        reproducible. None leaves the inner estimators' own seeds alone.
    verbose : int, default=0
        ``> 0`` prints one line per round.
    method : {"algorithm1", "in_loop", "ibp"}, default="algorithm1"
        ``"algorithm1"`` is the paper's procedure above. ``"in_loop"`` trains
        once and attacks every training batch against the weights of that
        step (Madry et al., 2018), through the classifier's ``batch_attack``
        hook: images with the image perturber's FGSM or PGD (``"default"``
        here is one step from a random start, of 1.25 eps, as Wong et al.,
        2020, recommend), texts with the text perturber's Eq. 2, once or
        ``n_iter`` times, over the candidate sets of the training words and
        within its ``max_substitutions``. ``"ibp"`` is certified training
        (interval bound propagation, Gowal et al., 2018) through the same
        hook: each step minimises a mix of the clean loss and the
        cross-entropy of the worst-case logits that interval bounds give
        over the batch's threat model, read from the perturbers as
        :func:`skmmat.metrics.certify` reads it (images: ``eps`` and
        ``clip``; texts: each word's box over its candidate set,
        ``n_candidates`` and ``max_distance``). ``n_rounds`` and
        ``warm_start`` belong to ``"algorithm1"``; the greedy text search
        is for evaluation.
    adversarial_weight : float in [0, 1], default=0.5
        With ``method="in_loop"``, each step minimises
        ``(1 - adversarial_weight) * clean loss + adversarial_weight *
        adversarial loss`` (Goodfellow et al., 2015); 0 is plain training.
        With ``method="ibp"``, the final weight ``kappa`` of the robust
        loss, reached at the end of the ramp.
    ramp_epochs : int, default=10
        With ``method="ibp"``: the threat model and ``kappa`` grow linearly
        over the first ``ramp_epochs`` epochs, to full size (Gowal et al.,
        2018). At epoch ``e`` (from 1) the image ``eps`` and the text boxes
        (shrunk towards each word) are ``s = min(1, e / ramp_epochs)`` of
        their size, and ``kappa = s * adversarial_weight``; 0 starts at full
        size. The epoch is the classifier's, so a resumed fit goes on with
        the ramp. Early stopping watches the clean validation loss, which
        the growing box raises: train with ``patience=None`` (a fixed
        number of epochs beyond the ramp), or the weights of an early,
        small-box epoch may be the ones kept. Unused by the other methods.
    attack_accuracy : bool, default=False
        Record, for each round of ``method="algorithm1"``, the accuracy of the
        model attacked in that round on its own adversarial training examples
        (``rounds_[i]["attack_accuracy"]``: how strong the attack was). It
        costs one prediction pass over the n adversarial rows per round
        (about 2 % of an MMAT fit of 4 epochs), which Algorithm 1 does not
        need, so it is off by default, as scikit-learn's
        ``return_train_score`` is; None is recorded then.

    Attributes
    ----------
    estimator_ : estimator
        The final, adversarially trained model.
    initial_estimator_ : estimator or None
        The model of step 1, trained on clean data only (the paper's MMN,
        Visual-CNN or Text-CNN column); handy to measure transfer attacks.
        None with ``method="in_loop"`` or ``"ibp"``, which train no clean model.
    classes_ : ndarray
        Class labels.
    rounds_ : list of dict
        Per round: ``"round"``, ``"n_samples"`` (rows of the refit: 2n),
        ``"attack_accuracy"`` (accuracy of the model attacked in that round on
        its own adversarial training examples, with ``attack_accuracy=True``;
        None otherwise) and ``"seconds"``. With ``method="in_loop"`` or
        ``"ibp"``, one entry: the n rows, no attack accuracy (None) and the
        fit's time.

    See Also
    --------
    skmmat.metrics.make_adversarial_scorer : white-box robust accuracy.
    skmmat.metrics.certified_accuracy : the accuracy no attack in the threat model breaks.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmmat import (AdversarialAugmentationWrapper, GloveSequencer,
    ...                     ImageResizer, MultiModalCNNClassifier, make_crisis_tweets)
    >>> df = make_crisis_tweets(200, random_state=0)
    >>> mmat = make_pipeline(
    ...     ImageResizer(), GloveSequencer(),
    ...     AdversarialAugmentationWrapper(MultiModalCNNClassifier(max_epochs=3), random_state=0),
    ... )
    >>> mmat.fit(df[["image", "text"]], df["label"]).score(df[["image", "text"]], df["label"]) > 0.5
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict", "loss_gradient"])],
        "image_perturber": [HasMethods(["craft"]), StrOptions({_DEFAULT}), None],
        "text_perturber": [HasMethods(["craft"]), StrOptions({_DEFAULT}), None],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "method": [StrOptions({"algorithm1", "in_loop", "ibp"})],
        "adversarial_weight": [Interval(Real, 0, 1, closed="both")],
        "ramp_epochs": [Interval(Integral, 0, None, closed="left")],
        "attack_accuracy": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator,
        image_perturber=_DEFAULT,
        text_perturber=_DEFAULT,
        n_rounds=1,
        warm_start=False,
        random_state=None,
        verbose=0,
        method="algorithm1",
        adversarial_weight=0.5,
        ramp_epochs=10,
        attack_accuracy=False,
    ):
        self.estimator = estimator
        self.image_perturber = image_perturber
        self.text_perturber = text_perturber
        self.n_rounds = n_rounds
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.method = method
        self.adversarial_weight = adversarial_weight
        self.ramp_epochs = ramp_epochs
        self.attack_accuracy = attack_accuracy

    def fit(self, X, y):
        """Run Algorithm 1.

        Parameters
        ----------
        X : pandas.DataFrame
            Preprocessed frame (the output of ImageResizer / GloveSequencer).
        y : array-like of shape (n_samples,)
            Labels.

        Returns
        -------
        self : AdversarialAugmentationWrapper
        """
        image_template, text_template = self._check_params()
        name = type(self).__name__
        check_dataframe(X, caller=name)
        y = check_labels(y, len(X), caller=name)
        rng = check_random_state(self.random_state)
        if self.method != "algorithm1":
            return self._fit_with_hook(X, y, rng)

        model = self._seeded(clone(self.estimator), rng).fit(X, y)
        self.initial_estimator_ = model
        modalities = estimator_modalities(model)
        image_p = self._seeded(image_template, rng)
        text_p = self._seeded(text_template, rng)
        _check_attacked(image_p, text_p, modalities, name)
        X_clean = X.reset_index(drop=True)
        y_aug = np.concatenate([y, y])
        self.rounds_ = []
        for round_ in range(1, self.n_rounds + 1):
            start = time.perf_counter()
            X_adv = craft_adversarial(
                model, X_clean, y, image_perturber=image_p, text_perturber=text_p
            )
            release_freed_memory()  # the crafting's blocks, before the passes over 2n rows
            attack_accuracy = None
            if self.attack_accuracy:
                attack_accuracy = float(np.mean(model.predict(X_adv) == y))
            X_aug = pd.concat([X_clean, X_adv], ignore_index=True)
            twins = self._twin_groups(X_aug, len(X_clean))
            if self.warm_start:
                if model is self.initial_estimator_:  # keep the clean model intact
                    model = copy.deepcopy(model)
                model.set_params(warm_start=True, **twins).fit(X_aug, y_aug)
            else:
                model = self._seeded(clone(self.estimator), rng)
                model.set_params(**twins).fit(X_aug, y_aug)
            self.rounds_.append(
                {
                    "round": round_,
                    "n_samples": len(X_aug),
                    "attack_accuracy": attack_accuracy,
                    "seconds": time.perf_counter() - start,
                }
            )
            if self.verbose:
                scored = (
                    ""
                    if attack_accuracy is None
                    else f"accuracy under attack before retraining {attack_accuracy:.3f}, "
                )
                print(
                    f"[{name}] round {round_}/{self.n_rounds}: {scored}refit on "
                    f"{len(X_aug)} rows ({self.rounds_[-1]['seconds']:.1f} s)"
                )
        self.estimator_ = model
        self.classes_ = model.classes_
        return self

    def _fit_with_hook(self, X, y, rng):
        """Train once through the classifier's hook: every batch attacked, or bounded (IBP)."""
        name = type(self).__name__
        start = time.perf_counter()
        model = self._seeded(clone(self.estimator), rng)
        modalities = _template_modalities(model, name)
        # in the loop a single image step starts at random (Wong et al., 2020: a step of
        # 1.25 eps); evaluation's default stays the paper's FGSM
        image_template = self.image_perturber
        is_default = isinstance(image_template, str) and image_template == _DEFAULT
        if self.method == "in_loop" and is_default:
            image_template = in_loop_image_perturber()
        image_t, text_t = resolve_perturbers(image_template, self.text_perturber, name)
        image_p = self._seeded(image_t, rng)
        text_p = self._seeded(text_t, rng)
        _check_attacked(image_p, text_p, modalities, name)
        if self.method == "ibp":
            hook = make_interval_bound_loss(
                image_p, text_p, X, modalities, self.adversarial_weight, self.ramp_epochs
            )
        else:
            hook = make_batch_attack(image_p, text_p, X, modalities, self.adversarial_weight)
        model.set_params(batch_attack=hook).fit(X, y)
        model.set_params(batch_attack=None)  # a plain classifier from here on
        self.estimator_ = model
        self.initial_estimator_ = None
        self.classes_ = model.classes_
        self.rounds_ = [
            {
                "round": 1,
                "n_samples": len(X),
                "attack_accuracy": None,
                "seconds": time.perf_counter() - start,
            }
        ]
        if self.verbose:
            seconds = self.rounds_[0]["seconds"]
            kind = "certified (IBP)" if self.method == "ibp" else "in-loop"
            print(f"[{name}] {kind} training on {len(X)} rows ({seconds:.1f} s)")
        return self

    # delegation ---------------------------------------------------------
    def predict(self, X):
        """Labels predicted by the adversarially trained model."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the adversarially trained model."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the adversarially trained model."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("loss_gradient"))
    def loss_gradient(self, X, y=None):
        """Input gradients of the adversarially trained model (for attacks)."""
        check_is_fitted(self)
        return self.estimator_.loss_gradient(X, y)

    @property
    def input_shapes_(self):
        """dict: per-modality input shapes of the final model."""
        check_is_fitted(self)
        return self.estimator_.input_shapes_

    # persistence protocol (walked by skmmat.save_model / load_model) -----
    def __skmmat_getstate__(self):
        """Fitted state for :func:`skmmat.save_model`: both models, classes and rounds."""
        check_is_fitted(self)
        return {
            "estimator_": self.estimator_,
            "initial_estimator_": self.initial_estimator_,
            "classes_": self.classes_,
            "rounds_": list(self.rounds_),
        }

    def __skmmat_setstate__(self, state):
        """Restore the state of :meth:`__skmmat_getstate__` (for :func:`skmmat.load_model`)."""
        self._check_params()
        self.estimator_ = state["estimator_"]
        self.initial_estimator_ = state["initial_estimator_"]
        self.classes_ = np.asarray(state["classes_"])
        self.rounds_ = list(state["rounds_"])
        return self

    # helpers ------------------------------------------------------------
    def _twin_groups(self, X_aug, n):
        """Keep each row and its adversarial twin on one side of the refit's validation split.

        Adds a column numbering the pairs to ``X_aug`` and returns the parameter
        that points the estimator's early stopping at it; an estimator without
        ``validation_groups``, or one that groups by a column of its own (whose
        values the twin copies), is left as it is.
        """
        if self.estimator.get_params(deep=False).get("validation_groups", False) is not None:
            return {}
        X_aug[_PAIR_COLUMN] = np.tile(np.arange(n), 2)
        return {"validation_groups": _PAIR_COLUMN}

    def _seeded(self, est, rng):
        if est is None:
            return None
        seed = rng.randint(np.iinfo(np.int32).max)  # drawn always: same stream either way
        if self.random_state is not None and "random_state" in est.get_params(deep=False):
            est = clone(est).set_params(random_state=int(seed))
        return est

    def _check_params(self):
        """Validate the parameters; return the two perturber templates (or None)."""
        self._validate_params()
        templates = resolve_perturbers(
            self.image_perturber, self.text_perturber, type(self).__name__
        )
        if self.method != "algorithm1":
            if self.n_rounds != 1 or self.warm_start:
                raise ValueError(
                    f"n_rounds and warm_start belong to method='algorithm1'; "
                    f"method={self.method!r} trains on every training batch in one fit."
                )
            if "batch_attack" not in self.estimator.get_params(deep=False):
                raise ValueError(
                    f"method={self.method!r} needs an estimator with a 'batch_attack' parameter "
                    f"(such as MultiModalCNNClassifier); {type(self.estimator).__name__} has none."
                )
        if self.warm_start and "warm_start" not in self.estimator.get_params(deep=False):
            raise ValueError(
                f"warm_start=True needs an estimator with a 'warm_start' parameter; "
                f"{type(self.estimator).__name__} has none."
            )
        return templates

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = copy.deepcopy(inner.input_tags)
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.non_deterministic = inner.non_deterministic
        return tags
