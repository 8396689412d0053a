"""AdversarialAugmentationWrapper: the paper's Algorithm 1 as a meta-estimator."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import check_dataframe, check_labels
from ._craft import resolve_perturbers
from ._methods import METHODS, Seeder, check_method_params, fit_rounds, fit_with_hook

__all__ = ["AdversarialAugmentationWrapper"]

_DEFAULT = "default"


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
    one that no attack was crafted against (the documentation's results page
    measures both). That is resistance to Eq. 2, the attack the rounds train
    with: the query-only greedy search
    (``WordSubstitutionPerturber(search="greedy")``) breaks such rounds more
    easily than a plain model. ``method="in_loop"`` attacks every training batch.

    Some parameters belong to one method: ``n_rounds``, ``warm_start`` and
    ``attack_accuracy`` to ``"algorithm1"``, ``adversarial_weight`` to
    ``"in_loop"`` and ``"ibp"``, ``ramp_epochs`` to ``"ibp"``, ``trades_beta``
    to ``"trades"``. Setting one
    away from its default for another method raises a ValueError at fit.

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
        ``method="algorithm1"`` only. Rounds of crafting and refitting;
        combine ``n_rounds > 1`` with ``warm_start=True``.
    warm_start : bool, default=False
        ``method="algorithm1"`` only. Continue training the current model on
        the augmented data instead of refitting from scratch; needs an
        estimator with a ``warm_start`` parameter.
    random_state : int, RandomState instance or None, default=None
        When set, seeds every inner fit (estimators and perturbers with a
        ``random_state`` parameter), making the whole procedure
        reproducible. None leaves the inner estimators' own seeds alone.
    verbose : int, default=0
        ``> 0`` prints one line per round.
    method : {"algorithm1", "in_loop", "ibp", "trades"}, default="algorithm1"
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
        ``n_candidates`` and ``max_distance``), both through the
        perturbers' :class:`~skmmat.adversarial.ThreatModel`. ``"trades"``
        attacks every batch as ``"in_loop"`` does and minimises the clean
        loss plus ``trades_beta`` times the KL divergence between the clean
        and the adversarial predictions (TRADES, Zhang et al., 2019). The
        greedy text search is for evaluation.
    adversarial_weight : float in [0, 1], default=0.5
        ``method="in_loop"`` and ``"ibp"`` only. With ``"in_loop"``, each step minimises
        ``(1 - adversarial_weight) * clean loss + adversarial_weight *
        adversarial loss`` (Goodfellow et al., 2015); 0 is plain training.
        With ``method="ibp"``, the final weight ``kappa`` of the robust
        loss, reached at the end of the ramp.
    ramp_epochs : int, default=10
        ``method="ibp"`` only: the threat model and ``kappa`` grow linearly
        over the first ``ramp_epochs`` epochs, to full size (Gowal et al.,
        2018). At epoch ``e`` (from 1) the image ``eps`` and the text boxes
        (shrunk towards each word) are ``s = min(1, e / ramp_epochs)`` of
        their size, and ``kappa = s * adversarial_weight``; 0 starts at full
        size. The epoch is the classifier's, so a resumed fit goes on with
        the ramp. Early stopping ignores the ramp's epochs (the growing box
        raises the clean validation loss): it neither stops training nor
        keeps the weights of an epoch before the box reached full size. A
        ``max_epochs`` below ``ramp_epochs`` warns.
    attack_accuracy : bool, default=False
        ``method="algorithm1"`` only. Record, for each round, the accuracy of the
        model attacked in that round on its own adversarial training examples
        (``rounds_[i]["attack_accuracy"]``: how strong the attack was). It
        costs one prediction pass over the n adversarial rows per round
        (about 2 % of an MMAT fit of 4 epochs), which Algorithm 1 does not
        need, so it is off by default, as scikit-learn's
        ``return_train_score`` is; None is recorded then.
    trades_beta : float >= 0, default=6.0
        ``method="trades"`` only: the weight of the divergence term (6 in
        Zhang et al., 2019); 0 is plain training.

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
        "method": [StrOptions(set(METHODS))],
        "adversarial_weight": [Interval(Real, 0, 1, closed="both")],
        "ramp_epochs": [Interval(Integral, 0, None, closed="left")],
        "trades_beta": [Interval(Real, 0, None, closed="left")],
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
        trades_beta=6.0,
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
        self.trades_beta = trades_beta

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
        templates = self._check_params()
        name = type(self).__name__
        check_dataframe(X, caller=name)
        y = check_labels(y, len(X), caller=name)
        seed = Seeder(self.random_state)
        if self.method == "algorithm1":
            model, initial, rounds = fit_rounds(self, X, y, seed, templates)
        else:
            (model, rounds), initial = fit_with_hook(self, X, y, seed), None
        self.estimator_ = model
        self.initial_estimator_ = initial
        self.classes_ = model.classes_
        self.rounds_ = rounds
        return self

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

    def _check_params(self):
        """Validate the parameters; return the two perturber templates (or None)."""
        self._validate_params()
        templates = resolve_perturbers(
            self.image_perturber, self.text_perturber, type(self).__name__
        )
        check_method_params(self.get_params(deep=False), self.method, type(self).__name__)
        hooks = "batch_attack" in self.estimator.get_params(deep=False)
        if self.method != "algorithm1" and not hooks:
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
