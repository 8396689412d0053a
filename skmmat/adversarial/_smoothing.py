"""RandomizedSmoothingClassifier: a vote over random word noise, with certificates."""

from __future__ import annotations

import functools
from numbers import Integral, Real

import numpy as np
from scipy.stats import beta, binom
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import as_label_array, check_labels
from ._noise import MaskNoise, SubstitutionNoise
from ._noisy_copies import (
    copy_blocks,
    input_kind,
    noisy_copies,
    pad_rows,
    query_rngs,
    read_words,
    take_rows,
)
from ._word_search import substitution_budget
from ._word_substitution import WordSubstitutionPerturber

__all__ = ["RandomizedSmoothingClassifier"]


def _estimator_has(name):
    def check(self):
        getattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, name)
        return True

    return check


@functools.lru_cache(maxsize=64)
def _needed_vote_share(n, alpha):
    """The least share (grid step 1e-4) at which a class loses a vote of n with chance <= alpha.

    Cached: every :meth:`RandomizedSmoothingClassifier.certify` call asks for
    it and the grid scan costs 5,001 binomial tail probabilities.
    """
    grid = np.linspace(0.5, 1.0, 5001)
    # the class loses a vote of n when it gets at most half of it (ties go elsewhere)
    lose = binom.cdf(n // 2, n, grid)
    ok = grid[lose <= alpha]
    return float(ok[0]) if ok.size else np.inf


class RandomizedSmoothingClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A classifier that votes over random word noise and certifies its votes.

    Randomized smoothing for word substitutions (SAFER, Ye et al., 2020). The
    base model is trained on noisy copies of the training tweets; a tweet is
    then classified by a vote of the base model over ``n_samples`` noisy
    copies of it, and :meth:`certify` proves, for a tweet whose vote is
    clear enough, that no substitution within the threat model (the
    attacker's candidate sets and word budget of ``text_perturber``) changes
    the prediction.

    Two noises:

    * ``"substitute"`` (SAFER): every in-vocabulary word replaced by a
      uniform draw from itself and its ``n_noise_neighbors`` nearest words.
      A substitution ``w -> w'`` moves a position's noise by one minus the
      overlap of the two words' noise sets, so the certificate is as strong
      as the noise sets of neighbouring words overlap.
    * ``"mask"`` (RanMASK, Zeng et al., 2023): only ``keep_rate`` of each
      tweet's words kept, the others masked (zero vectors, or left out of raw
      text). A change of ``R`` words moves the noise by the chance that one
      of them is kept, whatever the new words are.

    The noise of a query is fixed: it is drawn from a seed of the fitted
    model and the query's own words, so a tweet always gets the same
    prediction, and an attacker who probes the deployed model sees exactly
    what a user sees (:meth:`predict_proba` returns the vote shares).

    It works on two kinds of input, chosen at fit:

    * a preprocessed frame whose ``"text"`` column holds word-vector
      sequences (the output of :class:`~skmmat.GloveSequencer`), for any
      skmmat classifier: a Text-CNN, an MMN (the other columns go with every
      copy) or a wrapper of one;
    * raw tweets, either a one-dimensional array of strings (for a
      scikit-learn text pipeline such as TF-IDF and logistic regression) or
      a frame whose ``"text"`` column holds strings: each copy is the
      tweet's words (:func:`~skmmat.preprocessing.tokenize_tweet`) with the
      noise applied, joined by spaces.

    Parameters
    ----------
    estimator : classifier
        The base model, fitted (a clone) on the noisy copies. For a skmmat
        classifier, set ``validation_groups`` so that early stopping keeps a
        tweet's copies on one side of its split.
    text_perturber : WordSubstitutionPerturber, optional
        Its threat model (table, candidate sets, ``max_substitutions``) is
        what the noise draws from and what :meth:`certify` proves against.
        None is ``WordSubstitutionPerturber(max_substitutions=3)``. The
        budget must be set: no vote survives every word changing.
    noise : {"mask", "substitute"}, default="mask"
        The noise, as described above. Against a budget of a few words in a
        short tweet, only masking leaves a vote that can be certified: GloVe
        neighbours' noise sets overlap too little (see the threat-model
        guide).
    n_noise_neighbors : int, default=100
        Size of each word's noise set beside the word (``noise="substitute"``).
    keep_rate : float in (0, 1], default=0.05
        Share of each tweet's in-vocabulary words kept, rounded, at least one
        (``noise="mask"``). The default keeps one word of the paper's 15: a
        change of 3 words then moves the noise by at most 0.2, where keeping
        two would move it by 0.37.
    n_samples : int, default=100
        Noisy copies voting on each prediction.
    n_samples_certify : int, default=1000
        Noisy copies drawn (afresh) to certify a prediction.
    alpha : float in (0, 1), default=0.001
        Error rate of a certificate (see :meth:`certify`).
    n_copies : int, default=4
        Noisy copies of each training tweet the base model is fitted on.
    random_state : int, RandomState instance or None, default=None
        Seeds the training noise and the fixed noise of the queries.

    Attributes
    ----------
    estimator_ : classifier
        The base model fitted on the noisy copies.
    classes_ : ndarray
        The class labels.
    threat_model_ : ThreatModel
        The threat model of ``text_perturber``.
    input_kind_ : {"vectors", "strings", "frame of strings"}
        The input's kind, fixed at fit.
    noise_seed_ : int
        Seed of the queries' noise.

    See Also
    --------
    skmmat.AdversarialAugmentationWrapper : adversarial and certified training.
    skmmat.metrics.certify : interval certificates of a network.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmmat import WordSubstitutionPerturber, make_crisis_tweets
    >>> from skmmat.adversarial import RandomizedSmoothingClassifier
    >>> df = make_crisis_tweets(200, random_state=0)
    >>> smooth = RandomizedSmoothingClassifier(
    ...     make_pipeline(TfidfVectorizer(), LogisticRegression()), noise="mask",
    ...     keep_rate=0.3, n_samples=50, n_samples_certify=200, random_state=0,
    ...     text_perturber=WordSubstitutionPerturber(max_substitutions=1),
    ... ).fit(df["text"].to_numpy(), df["label"])
    >>> certified, margins = smooth.certify(df["text"].to_numpy()[:5], df["label"][:5])
    >>> bool(((margins > 0) == certified).all())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "text_perturber": [HasMethods(["threat_model"]), None],
        "noise": [StrOptions({"substitute", "mask"})],
        "n_noise_neighbors": [Interval(Integral, 1, None, closed="left")],
        "keep_rate": [Interval(Real, 0, 1, closed="right")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_samples_certify": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "n_copies": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        text_perturber=None,
        *,
        noise="mask",
        n_noise_neighbors=100,
        keep_rate=0.05,
        n_samples=100,
        n_samples_certify=1000,
        alpha=0.001,
        n_copies=4,
        random_state=None,
    ):
        self.estimator = estimator
        self.text_perturber = text_perturber
        self.noise = noise
        self.n_noise_neighbors = n_noise_neighbors
        self.keep_rate = keep_rate
        self.n_samples = n_samples
        self.n_samples_certify = n_samples_certify
        self.alpha = alpha
        self.n_copies = n_copies
        self.random_state = random_state

    # fitting -----------------------------------------------------------------
    def fit(self, X, y):
        """Fit a clone of the base model on ``n_copies`` noisy copies of each tweet.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of str
            A preprocessed frame with a ``"text"`` column of word-vector
            sequences, a frame with a ``"text"`` column of raw tweets, or a
            one-dimensional array of raw tweets.
        y : array-like of shape (n_samples,)
            Labels.

        Returns
        -------
        self
        """
        self._validate_params()
        name = type(self).__name__
        threat = self._threat_model()
        kind = input_kind(X, name)
        y = check_labels(y, len(X), caller=name)
        rng = check_random_state(self.random_state)
        self.input_kind_ = kind
        self.threat_model_ = threat
        self.noise_ = self._make_noise(threat)
        self.noise_seed_ = int(rng.randint(np.iinfo(np.int32).max))
        train_rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        words = self._words(X)
        copies = self._noisy_copies(X, words, self.n_copies, lambda i: train_rng)
        base = clone(self.estimator).fit(copies, np.repeat(y, self.n_copies))
        self.estimator_ = base
        self.classes_ = np.asarray(base.classes_)
        return self

    def _threat_model(self):
        perturber = self.text_perturber
        if perturber is None:
            perturber = WordSubstitutionPerturber(max_substitutions=3)
        threat = perturber.threat_model()
        if threat.vectors is None:
            raise ValueError(
                f"{type(self).__name__}: the text_perturber's threat model has no word table."
            )
        if threat.max_substitutions is None:
            raise ValueError(
                f"{type(self).__name__}: set the text_perturber's 'max_substitutions' (the words "
                "an attacker may change per tweet); no vote survives every word changing."
            )
        return threat

    def _make_noise(self, threat):
        if self.noise == "mask":
            return MaskNoise(self.keep_rate)
        return SubstitutionNoise(threat, self.n_noise_neighbors)

    # prediction --------------------------------------------------------------
    def predict_proba(self, X):
        """Vote shares of the classes over the query's ``n_samples`` noisy copies.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of str
            Input of the kind seen at fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._votes(X, self.n_samples, "predict") / self.n_samples

    def predict(self, X):
        """The class with the most votes (the first of tied classes)."""
        return self._predict(X, self._query_words(X))

    def _predict(self, X, words):
        """:meth:`predict`, from the words of ``X`` already read."""
        return self.classes_[self._votes(X, self.n_samples, "predict", words).argmax(axis=1)]

    @available_if(_estimator_has("loss_gradient"))
    def loss_gradient(self, X, y=None):
        """The base model's input gradients, averaged over each query's noisy copies.

        The gradient an attacker can estimate by probing the noise (the
        expectation over the noise of the base model's gradient at the noisy
        copies, position by position), so that gradient attacks such as
        Eq. 2 aim at the vote that :meth:`predict` casts.

        Parameters
        ----------
        X : pandas.DataFrame
            Preprocessed frame, as at fit.
        y : array-like of shape (n_samples,), optional
            Labels the loss is taken at; None uses :meth:`predict`.

        Returns
        -------
        gradients : dict of str -> ndarray
        """
        words = self._query_words(X)  # read once: the labels' vote and the gradients
        labels = self._predict(X, words) if y is None else np.asarray(y)
        n = self.n_samples
        out = {}
        for block in copy_blocks(len(X), n):
            rngs = query_rngs(words[block], self.noise_seed_, "predict")
            copies = self._noisy_copies(X.iloc[block], words[block], n, rngs)
            grads = self.estimator_.loss_gradient(copies, np.repeat(labels[block], n))
            for modality, g in grads.items():
                g = np.asarray(g)
                out.setdefault(modality, []).append(g.reshape(-1, n, *g.shape[1:]).mean(axis=1))
        return {m: np.concatenate(parts) for m, parts in out.items()}

    @property
    def input_shapes_(self):
        """dict: the base model's input shapes (skmmat base models only)."""
        check_is_fitted(self)
        return self.estimator_.input_shapes_

    # certificates ------------------------------------------------------------
    def certify(self, X, y=None, max_substitutions=None):
        """Certify each prediction against every attack of the threat model.

        A tweet is certified when its prediction :meth:`predict` holds for
        every tweet an attacker can reach from it: any ``max_substitutions``
        of its words replaced by allowed candidates. With ``p``, a lower
        confidence bound (Clopper-Pearson, level ``1 - alpha``) of the
        predicted class's share of the noise, from ``n_samples_certify``
        fresh noisy copies, and ``d``, the noise's total variation bound for
        the tweet's budget, every reachable tweet gets the class with a share
        of at least ``p - d``. It is certified when a vote of ``n_samples``
        copies at that share still returns the class but with chance at most
        ``alpha``: the certificate is about the prediction a user gets, not
        only about the vote's expectation. Each certificate is wrong with
        probability at most ``2 * alpha`` for any one reachable tweet.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of str
            Input of the kind seen at fit.
        y : array-like of shape (n_samples,), optional
            True labels: a tweet is then certified only if its prediction is
            right.
        max_substitutions : int >= 1, float in (0, 1] or None, default=None
            The attacker's budget for these certificates, in the text
            perturber's terms (a count, or a share of each tweet's words);
            None is the budget the classifier was built with. One fitted
            model certifies against several budgets this way; a smaller
            budget certifies at least the same tweets.

        Returns
        -------
        certified : ndarray of bool of shape (n_samples,)
        margins : ndarray of float64 of shape (n_samples,)
            ``p - d`` less the share a vote needs; positive exactly where a
            prediction is certified (the right one, when ``y`` is given).
        """
        check_is_fitted(self)
        self._check_budget(max_substitutions, "certify")
        words = self._query_words(X)  # read once: the vote, the certifying votes and the shift
        pred = self._predict(X, words)
        n = self.n_samples_certify
        votes = self._votes(X, n, "certify", words)
        top = np.searchsorted(self.classes_, pred)
        hits = votes[np.arange(len(pred)), top]
        lower = np.where(hits > 0, beta.ppf(self.alpha, hits, n - hits + 1), 0.0)
        margins = lower - self._shift(words, max_substitutions) - self._needed_share()
        if y is not None:
            y = as_label_array(y)
            if y.shape != pred.shape:
                raise ValueError(
                    f"{type(self).__name__}.certify: y has shape {y.shape} for {len(pred)} rows."
                )
            margins = np.where(pred == y, margins, -np.inf)
        return margins > 0, margins

    def shift(self, X, max_substitutions=None):
        """The total variation bound of each tweet's noise under the threat model.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of str
            Input of the kind seen at fit.
        max_substitutions : int >= 1, float in (0, 1] or None, default=None
            The attacker's budget, as in :meth:`certify`; None is the budget
            the classifier was built with.

        Returns
        -------
        shift : ndarray of float64 of shape (n_samples,)
        """
        check_is_fitted(self)
        self._check_budget(max_substitutions, "shift")
        return self._shift(self._query_words(X), max_substitutions)

    def _shift(self, words, max_substitutions=None):
        """:meth:`shift`, from the words of the tweets."""
        rows = pad_rows(words)
        threat = self.threat_model_
        sets = threat.candidate_sets(np.unique(rows[rows >= 0]))
        if max_substitutions is None:
            max_substitutions = threat.max_substitutions
        budget = substitution_budget(max_substitutions, (rows >= 0).sum(axis=1))
        return self.noise_.shift(rows, sets, budget)

    def _check_budget(self, max_substitutions, method):
        constraint = WordSubstitutionPerturber._parameter_constraints["max_substitutions"]
        validate_parameter_constraints(
            {"max_substitutions": constraint},
            {"max_substitutions": max_substitutions},
            caller_name=f"{type(self).__name__}.{method}",
        )

    def _needed_share(self):
        """The least share at which a vote of n_samples returns a class but with chance alpha."""
        return _needed_vote_share(int(self.n_samples), float(self.alpha))

    # noise -------------------------------------------------------------------
    def _votes(self, X, n, purpose, words=None):
        """Each row's votes per class over ``n`` noisy copies (``words``: of ``X``, or None)."""
        if words is None:
            words = self._query_words(X)
        votes = np.zeros((len(words), len(self.classes_)), dtype=np.int64)
        for block in copy_blocks(len(words), n):
            rngs = query_rngs(words[block], self.noise_seed_, purpose)
            copies = self._noisy_copies(take_rows(X, block), words[block], n, rngs)
            pred = self.estimator_.predict(copies)
            idx = np.searchsorted(self.classes_, np.asarray(pred)).reshape(-1, n)
            for c in range(len(self.classes_)):
                votes[block, c] = (idx == c).sum(axis=1)
        return votes

    def _query_words(self, X):
        """The words of a query, once it is checked to be of the kind seen at fit."""
        check_is_fitted(self)
        kind = input_kind(X, type(self).__name__)
        if kind != self.input_kind_:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.input_kind_} input, got {kind}."
            )
        return self._words(X)

    def _words(self, X):
        return read_words(X, self.input_kind_, self.threat_model_, type(self).__name__)

    def _noisy_copies(self, X, words, n, rngs):
        return noisy_copies(X, words, n, rngs, self.noise_, self.input_kind_, self.threat_model_)

    # persistence protocol (walked by skmmat.save_model / load_model) -----
    def __skmmat_getstate__(self):
        """Fitted state for :func:`skmmat.save_model`."""
        check_is_fitted(self)
        return {
            "estimator_": self.estimator_,
            "classes_": self.classes_,
            "input_kind_": self.input_kind_,
            "noise_seed_": self.noise_seed_,
        }

    def __skmmat_setstate__(self, state):
        """Restore the state of :meth:`__skmmat_getstate__` (for :func:`skmmat.load_model`)."""
        self._validate_params()
        self.threat_model_ = self._threat_model()
        self.noise_ = self._make_noise(self.threat_model_)
        self.estimator_ = state["estimator_"]
        self.classes_ = np.asarray(state["classes_"])
        self.input_kind_ = str(state["input_kind_"])
        self.noise_seed_ = int(state["noise_seed_"])
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags
