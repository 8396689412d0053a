"""WordSubstitutionPerturber: Equation (2) of the paper on the text column."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_array_column
from ..embeddings import _ALGORITHMS, _METRICS, _block_rows, load_vectors, nearest_neighbors
from ._base import BasePerturber, as_cells

__all__ = ["WordSubstitutionPerturber"]

_UNKNOWN = "<unk>"  # token shown for a position whose word the table does not know
_CHUNK = 8192  # word positions scored at once (bounds the (p, k, d) buffer)


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
    column : str, default="text"
        Column of (max_len, dim) float arrays.
    tokens_column : str or None, default="tokens"
        Column of token tuples written by the sequencer; read to find each
        position's word quickly and rewritten with the substitutes. When
        absent, words are found by matching vectors against the table.
    n_jobs : int, optional
        Threads for building the approximate graph.

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
        column="text",
        tokens_column="tokens",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.vectors = vectors
        self.eps = eps
        self.n_candidates = n_candidates
        self.threshold = threshold
        self.max_distance = max_distance
        self.metric = metric
        self.algorithm = algorithm
        self.column = column
        self.tokens_column = tokens_column
        self.n_jobs = n_jobs

    def _fit_resources(self):
        self.vectors_ = load_vectors(self.vectors)

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
        return nearest_neighbors(
            self.vectors_,
            rows,
            self.n_candidates,
            metric=self.metric,
            algorithm=self.algorithm,
            n_jobs=self.n_jobs,
        )

    def _craft_columns(self, X, y, gradient):
        table = self.vectors_
        name = type(self).__name__
        seq = check_array_column(X, self.column, ndim=2, last_dim=table.dim, caller=name)
        rows = self._word_rows(X, seq)
        pos_s, pos_p = np.nonzero(rows >= 0)
        new_seq = seq.copy()
        out = {self.column: None}
        tokens = None
        if self.tokens_column is not None:
            if self.tokens_column in X.columns:
                tokens = [list(t) for t in X[self.tokens_column]]
            else:  # write the words so the adversarial tweet can be read
                tokens = [
                    [table.words[r] if r >= 0 else _UNKNOWN for r in row[: _n_words(row)]]
                    for row in rows
                ]
        if pos_s.size:
            eta = np.float32(self.eps) * np.sign(self._gradient(X, y, gradient)).astype(np.float32)
            words = rows[pos_s, pos_p]
            unique, inverse = np.unique(words, return_inverse=True)
            cand_idx, cand_dist = self.candidates(unique)
            vectors = table.vectors
            threshold = -np.inf if self.threshold is None else self.threshold
            for start in range(0, words.size, _CHUNK):
                part = slice(start, start + _CHUNK)
                s, p, w = pos_s[part], pos_p[part], words[part]
                cand = cand_idx[inverse[part]]
                diff = vectors[cand] - vectors[w][:, None, :]
                proj = np.einsum("pkd,pd->pk", diff, eta[s, p])
                if self.max_distance is not None:
                    proj[cand_dist[inverse[part]] > self.max_distance] = -np.inf
                best = proj.argmax(axis=1)
                best_proj = proj[np.arange(len(best)), best]
                # the strict positive bound keeps threshold=None from "substituting" ties at 0
                hit = (best_proj >= threshold) & (best_proj > 0)
                if not hit.any():
                    continue
                new_words = cand[hit, best[hit]]
                new_seq[s[hit], p[hit]] = vectors[new_words]
                if tokens is not None:
                    for i, j, r in zip(s[hit], p[hit], new_words, strict=True):
                        tokens[i].extend([_UNKNOWN] * (j + 1 - len(tokens[i])))
                        tokens[i][j] = table.words[r]
        out[self.column] = as_cells(new_seq)
        if tokens is not None:
            out[self.tokens_column] = [tuple(t) for t in tokens]
        return out

    def _word_rows(self, X, seq):
        """Table row of the word at each position; -1 for padding and OOV."""
        table = self.vectors_
        n, length, _ = seq.shape
        nonzero = np.abs(seq).sum(axis=2) > 0
        rows = np.full((n, length), -1, dtype=np.int64)
        if self.tokens_column is not None and self.tokens_column in X.columns:
            for i, toks in enumerate(X[self.tokens_column]):
                toks = list(toks)[:length] if isinstance(toks, list | tuple) else []
                rows[i, : len(toks)] = table.lookup(toks)
            known = rows >= 0
            same = np.zeros_like(known)
            same[known] = (table.vectors[rows[known]] == seq[known]).all(axis=1)
            rows[~same] = -1
        unresolved = nonzero & (rows < 0)
        if unresolved.any():
            rows[unresolved] = _match_rows(table, seq[unresolved], type(self).__name__)
        rows[~nonzero] = -1
        return rows

    def _validate_params(self):
        self._check_eps()
        if not isinstance(self.n_candidates, numbers.Integral) or self.n_candidates < 1:
            raise ValueError(
                f"Parameter 'n_candidates' must be an integer >= 1, got {self.n_candidates!r}."
            )
        for name in ("threshold", "max_distance"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, numbers.Real) or value < 0):
                raise ValueError(
                    f"Parameter {name!r} must be a number >= 0 or None, got {value!r}."
                )
        if self.metric not in _METRICS:
            raise ValueError(
                f"Parameter 'metric' must be one of {list(_METRICS)}, got {self.metric!r}."
            )
        if self.algorithm not in _ALGORITHMS:
            raise ValueError(
                f"Parameter 'algorithm' must be one of {list(_ALGORITHMS)}, got {self.algorithm!r}."
            )
        if not isinstance(self.column, str):
            raise ValueError(f"Parameter 'column' must be a column name, got {self.column!r}.")


def _n_words(row):
    """Number of leading positions up to the last word of a row of table rows."""
    nz = np.flatnonzero(row >= 0)
    return int(nz[-1]) + 1 if nz.size else 0


def _match_rows(table, queries, caller):
    """Rows of ``table`` equal to each query vector; ValueError if one is none.

    Each distinct vector is searched once (a tweet corpus repeats its words
    many times), a block of them at a time against the whole table, which
    bounds the ``(block, n_words)`` distance buffer (64 MB).
    """
    vectors = table.vectors
    chunk = _block_rows(len(vectors))
    sq = np.einsum("ij,ij->i", vectors, vectors)
    distinct, inverse = np.unique(queries, axis=0, return_inverse=True)
    found = np.empty(len(distinct), dtype=np.int64)
    for start in range(0, len(distinct), chunk):
        q = distinct[start : start + chunk]
        d2 = q @ vectors.T
        d2 *= -2.0
        d2 += sq[None, :]
        best = d2.argmin(axis=1)
        err = d2[np.arange(len(q)), best] + np.einsum("ij,ij->i", q, q)
        if (err > 1e-6 * np.maximum(1.0, sq[best])).any():
            raise ValueError(
                f"{caller}: the text column holds word vectors that are not rows of the "
                f"perturber's table ({table!r}). Use the same 'vectors' in GloveSequencer and "
                "WordSubstitutionPerturber."
            )
        found[start : start + len(q)] = best
    return found[inverse.reshape(-1)]
