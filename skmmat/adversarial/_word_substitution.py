"""WordSubstitutionPerturber: Equation (2) of the paper on the text column."""

from __future__ import annotations

import os
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..embeddings import (
    ALGORITHMS,
    METRICS,
    WordVectors,
)
from ._base import BasePerturber, as_cells
from ._iterative import run_steps
from ._threat_model import ThreatModel
from ._word_search import best_substitutions, greedy_search

__all__ = ["WordSubstitutionPerturber"]

_UNKNOWN = "<unk>"  # token shown for a position whose word the table does not know


class WordSubstitutionPerturber(BasePerturber):
    """Adversarial word substitution in embedding space (the paper's Equation 2).

    A word vector cannot be moved freely, since a perturbed vector is no word.
    Following Papernot et al. (2016) as the paper does, each word ``w`` is
    instead replaced by the neighbour that moves furthest along the
    adversarial direction:

    1. ``eta_t = eps * sign(grad J)`` at each word position (Equation 1 on the
       text input).
    2. The candidate set ``C`` of a word is its ``n_candidates`` nearest
       words in the embedding table, the word itself excluded.
    3. ``w' = argmax_{w' in C} (w' - w) . eta_t`` (Equation 2); ``w`` is
       replaced only when that projection reaches ``threshold``, so that only
       the most impactful words change (the paper's meaning of its 0.5
       threshold).

    Padding and out-of-vocabulary positions (zero vectors) are never
    touched. Every output vector is a real row of the table, and the tokens
    column is rewritten with the new words, so the adversarial tweet can be
    read (the paper's Fig. 4 and 5).

    Parameters
    ----------
    estimator : fitted estimator with ``loss_gradient``, optional
        The model attacked, used as given (never refitted). Inside
        :class:`AdversarialAugmentationWrapper` it is set for you.
    vectors : str, path-like, mapping or WordVectors, default="glove-6b-50d"
        The word-vector table; must be the one the
        :class:`~skmmat.preprocessing.GloveSequencer` used.
    eps : float, default=0.1
        Scale of ``eta_t``; the paper uses 0.1.
    n_candidates : int, default=10
        Size of the candidate set of each word.
    threshold : float or None, default=0.5
        Minimum projection ``(w' - w) . eta_t`` for a substitution; None
        substitutes every word whose best projection is positive.
    max_distance : float, optional
        Also drop candidates further than this from ``w`` (in ``metric``
        units). Several public implementations read the paper's 0.5 as such
        a distance limit; this parameter offers that reading.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance that defines nearest neighbours.
    algorithm : {"auto", "exact", "ann"}, default="auto"
        Neighbour search; see :func:`skmmat.embeddings.nearest_neighbors`.
        The approximate k-NN graph of a table is built once and cached on
        disk, keyed by the table's content.
    tokens_column : str or None, default="tokens"
        Column of token tuples written by the sequencer; read to find each
        position's word quickly and rewritten with the substitutes. When
        absent, words are found by matching vectors against the table.
    n_jobs : int, optional
        Threads for building the approximate graph.
    search : {"gradient", "greedy"}, default="gradient"
        How the threat model is searched. ``"gradient"`` is Equation 2,
        ``n_iter`` times: each step recomputes the gradient at the current
        text and substitutes the words not yet substituted whose projection
        reaches ``threshold``, highest first. ``"greedy"`` uses no gradient:
        each step queries ``predict_proba`` on every allowed candidate at
        every open position and keeps the one substitution that lowers the
        probability of the tweet's class most, until the tweet is
        misclassified, its budget is spent or nothing helps (``eps``,
        ``threshold`` and ``n_iter`` play no part).
    n_iter : int, default=1
        Steps of the gradient search; 1 is the paper's single step.
    max_substitutions : int, float in (0, 1] or None, default=None
        The budget of the threat model: at most this many words replaced per
        tweet, or this fraction of its in-vocabulary words (rounded up).
        None lets every word change. Whatever the search, a position is
        replaced at most once, by a word of its original word's candidate set.

    Attributes
    ----------
    estimator_ : estimator
        The attacked estimator.
    vectors_ : WordVectors
        The table.

    See Also
    --------
    FGSMPerturber : the image attack (Equation 1).

    Examples
    --------
    >>> from skmmat import (GloveSequencer, MultiModalCNNClassifier,
    ...                     WordSubstitutionPerturber, make_crisis_tweets)
    >>> df = make_crisis_tweets(200, random_state=0)
    >>> Xp = GloveSequencer().fit_transform(df[["text"]])
    >>> clf = MultiModalCNNClassifier(modalities=("text",), max_epochs=3,
    ...                               random_state=0).fit(Xp, df["label"])
    >>> X_adv = WordSubstitutionPerturber(clf).fit_transform(Xp, df["label"])
    >>> X_adv["tokens"].iloc[0] != Xp["tokens"].iloc[0]  # doctest: +SKIP
    True
    """

    modality = "text"

    _parameter_constraints: dict = {
        **BasePerturber._parameter_constraints,
        "vectors": [str, os.PathLike, Mapping, WordVectors],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, 0, None, closed="left"), None],
        "max_distance": [Interval(Real, 0, None, closed="left"), None],
        "metric": [StrOptions(set(METRICS))],
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "tokens_column": [str, None],
        "n_jobs": [Integral, None],
        "search": [StrOptions({"gradient", "greedy"})],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "max_substitutions": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
            None,
        ],
    }

    def __init__(
        self,
        estimator=None,
        vectors="glove-6b-50d",
        eps=0.1,
        n_candidates=10,
        threshold=0.5,
        max_distance=None,
        metric="euclidean",
        algorithm="auto",
        tokens_column="tokens",
        n_jobs=None,
        search="gradient",
        n_iter=1,
        max_substitutions=None,
    ):
        self.estimator = estimator
        self.vectors = vectors
        self.eps = eps
        self.n_candidates = n_candidates
        self.threshold = threshold
        self.max_distance = max_distance
        self.metric = metric
        self.algorithm = algorithm
        self.tokens_column = tokens_column
        self.n_jobs = n_jobs
        self.search = search
        self.n_iter = n_iter
        self.max_substitutions = max_substitutions

    @property
    def single_step(self):
        return self.search == "gradient" and self.n_iter == 1

    @property
    def written_columns(self):
        """tuple of str: the columns :meth:`craft` rewrites (the text and its tokens)."""
        return ("text",) if self.tokens_column is None else ("text", self.tokens_column)

    def _check_params(self):
        super()._check_params()
        if self.tokens_column == "text":
            raise ValueError(
                "The 'tokens_column' parameter of WordSubstitutionPerturber must differ from "
                "'text', the column of word vectors it perturbs."
            )

    def threat_model(self):
        """The :class:`~skmmat.adversarial.ThreatModel` of the parameters, validated.

        The table (``vectors``), each word's candidate set (``n_candidates``,
        ``max_distance``, ``metric``) and the budget (``max_substitutions``).
        """
        self._check_params()
        return ThreatModel(
            vectors=self.vectors,
            n_candidates=self.n_candidates,
            max_distance=self.max_distance,
            metric=self.metric,
            algorithm=self.algorithm,
            n_jobs=self.n_jobs,
            max_substitutions=self.max_substitutions,
            tokens_column=self.tokens_column,
        )

    @property
    def vectors_(self):
        """WordVectors: the table, once fitted."""
        return self.threat_model_.vectors

    def candidates(self, rows):
        """Candidate sets of some table rows.

        Parameters
        ----------
        rows : array-like of int
            Row numbers of words in ``vectors_``.

        Returns
        -------
        indices, distances : ndarrays of shape (len(rows), n_candidates)
        """
        return self.threat_model_.candidates(rows)

    def steps(self, X):
        """The :class:`TextSteps` of a block of rows of ``X``."""
        return TextSteps(self, X)

    def _craft_columns(self, X, y, gradient, rng):
        steps = self.steps(X)
        steps.start()
        if steps.is_open and self.search == "greedy":
            greedy_search(
                self.estimator_,
                X,
                y,
                steps.current,
                steps.new_rows,
                steps.rows,
                steps.sets,
                steps.budget,
                self.vectors_,
            )
        elif steps.is_open:
            # Equation 2, n_iter times: each step substitutes words not yet substituted
            run_steps(self.estimator_, X, y, [steps], gradient=gradient)
        return steps.columns()


class TextSteps:
    """The Eq. 2 steps of :class:`WordSubstitutionPerturber` on a block of tweets.

    A step state of :func:`~skmmat.adversarial._iterative.run_steps`, whose
    arrays the greedy search also works on. A step scores every open
    position's candidates by ``(w' - w) . eta`` at the current text's
    gradient and substitutes, in each tweet, the positions whose best score
    reaches ``threshold``, highest first, while the tweet's budget lasts. A
    position is open while it holds its original word (each is replaced at
    most once) and its candidates are always its original word's.

    Parameters
    ----------
    perturber : WordSubstitutionPerturber
        Fitted.
    X : pandas.DataFrame
        The block's clean frame.

    Attributes
    ----------
    rows : ndarray of shape (n, n_words)
        Table rows of the original words (-1: padding and unknown words).
    sets : CandidateSets or None
        The original words' candidate sets (None when there is no word).
    current, new_rows, budget : ndarrays
        The text, its words' table rows and the substitutions each tweet may
        still make; set by :meth:`start`.
    """

    modality = "text"
    random_start = False

    def __init__(self, perturber, X):
        self.perturber = perturber
        self.threat = perturber.threat_model_
        self.X = X
        self.table = self.threat.vectors
        self.n_iter = perturber.n_iter if perturber.search == "gradient" else 1
        self.seq, self.rows = self.threat.text_rows(X, type(perturber).__name__)
        known = self.rows >= 0
        self.n_known = known.sum(axis=1)
        # each position's candidate set is its original word's, whatever was written
        words = np.unique(self.rows[known])
        self.sets = self.threat.candidate_sets(words) if known.any() else None
        self.current = self.new_rows = self.budget = None

    def start(self, rng=None):
        self.current = self.seq.copy()
        self.new_rows = self.rows.copy()
        self.budget = self.threat.budget(self.n_known)

    def _open(self):
        return (self.new_rows == self.rows) & (self.rows >= 0) & (self.budget > 0)[:, None]

    @property
    def is_open(self):
        return self.sets is not None and bool(self._open().any())

    def step(self, grad):
        p = self.perturber
        vectors = self.table.vectors
        threshold = -np.inf if p.threshold is None else p.threshold
        eta = np.float32(p.eps) * np.sign(grad).astype(np.float32)
        s, pos, w = best_substitutions(
            self.rows, self._open(), eta, self.sets, vectors, threshold, self.budget
        )
        if not s.size:
            return False
        self.current[s, pos] = vectors[w]
        self.new_rows[s, pos] = w
        np.subtract.at(self.budget, s, 1)
        return True

    def result(self):
        return {"current": self.current.copy(), "new_rows": self.new_rows.copy()}

    def load(self, result):
        self.current = result["current"]
        self.new_rows = result["new_rows"]

    def columns(self):
        """The text and, when the perturber writes one, the tokens column."""
        table, rows, new_rows = self.table, self.rows, self.new_rows
        out = {"text": as_cells(self.current)}
        tokens_column = self.perturber.tokens_column
        if tokens_column is not None:
            if tokens_column in self.X.columns:
                tokens = [list(t) for t in self.X[tokens_column]]
            else:  # write the words so the adversarial tweet can be read
                tokens = [
                    [table.words[r] if r >= 0 else _UNKNOWN for r in row[: _n_words(row)]]
                    for row in rows
                ]
            for i, j in zip(*np.nonzero(new_rows != rows), strict=True):
                tokens[i].extend([_UNKNOWN] * (j + 1 - len(tokens[i])))
                tokens[i][j] = table.words[new_rows[i, j]]
            out[tokens_column] = [tuple(t) for t in tokens]
        return out


def _n_words(row):
    """Number of leading positions up to the last word of a row of table rows."""
    nz = np.flatnonzero(row >= 0)
    return int(nz[-1]) + 1 if nz.size else 0
