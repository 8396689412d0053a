"""The text threat model's pieces: substitution budgets, candidate sets, greedy search.

The text threat model lets each in-vocabulary word of a tweet be replaced by
one word of its own candidate set (its ``n_candidates`` nearest neighbours in
the table, optionally within ``max_distance``), with at most a budget of
words changed per tweet. :class:`~skmmat.WordSubstitutionPerturber` searches
it with the gradient (Equation 2, once or iteratively) or, here, with
queries alone.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ._base import as_cells, class_indices

__all__ = ["CandidateSets", "best_substitutions", "greedy_search", "substitution_budget"]

#: variant tweets scored by one predict_proba call of the greedy search
_QUERY_ROWS = 4096
#: word positions scored at once by Eq. 2 (bounds the (positions, k, dim) buffer)
_CHUNK = 8192


def substitution_budget(max_substitutions, n_words):
    """Words each tweet may have replaced.

    Parameters
    ----------
    max_substitutions : int, float in (0, 1] or None
        An integer count, a fraction of the tweet's in-vocabulary words
        (rounded up), or None for all of them.
    n_words : ndarray of int
        In-vocabulary words of each tweet.

    Returns
    -------
    budget : ndarray of int64
    """
    n_words = np.asarray(n_words, dtype=np.int64)
    if max_substitutions is None:
        return n_words.copy()
    if isinstance(max_substitutions, Integral):
        return np.minimum(n_words, int(max_substitutions))
    return np.ceil(n_words * float(max_substitutions) - 1e-9).astype(np.int64)


class CandidateSets:
    """The candidate set of each word of a vocabulary, and which candidates are allowed.

    Parameters
    ----------
    words : ndarray of int
        Sorted, distinct table rows.
    indices : ndarray of shape (len(words), n_candidates)
        Their candidates' table rows.
    allowed : ndarray of bool, same shape
        False for candidates outside ``max_distance``.
    """

    def __init__(self, words, indices, allowed):
        self.words = words
        self.indices = indices
        self.allowed = allowed

    def of(self, rows):
        """Candidates and their allowed flags for the table rows ``rows``."""
        at = np.searchsorted(self.words, rows)
        return self.indices[at], self.allowed[at]


def best_substitutions(rows, open_, eta, sets, vectors, threshold, budget):
    """Equation 2's substitutions at the open positions, within each tweet's budget.

    Parameters
    ----------
    rows : ndarray of shape (n, n_words)
        Table rows of the original words (-1: no word).
    open_ : ndarray of bool, same shape
        Positions that may change.
    eta : ndarray of shape (n, n_words, dim)
        ``eps * sign(gradient)`` at the current text.
    sets : CandidateSets
    vectors : ndarray of shape (n_table_words, dim)
    threshold : float
        Minimum projection ``(w' - w) . eta``; ``-inf`` for none.
    budget : ndarray of shape (n,)
        Substitutions each tweet may still make.

    Returns
    -------
    tweets, positions, words : ndarrays of int
        The substitutions, each tweet's highest projections first, at most
        its budget of them.
    """
    pos_s, pos_p = np.nonzero(open_)
    found_s, found_p, found_w, found_score = [], [], [], []
    for start in range(0, pos_s.size, _CHUNK):
        s, p = pos_s[start : start + _CHUNK], pos_p[start : start + _CHUNK]
        cand, allowed = sets.of(rows[s, p])
        diff = vectors[cand] - vectors[rows[s, p]][:, None, :]
        proj = np.einsum("pkd,pd->pk", diff, eta[s, p])
        proj[~allowed] = -np.inf
        best = proj.argmax(axis=1)
        best_proj = proj[np.arange(len(best)), best]
        # the strict positive bound keeps threshold=None from "substituting" ties at 0
        hit = (best_proj >= threshold) & (best_proj > 0)
        found_s.append(s[hit])
        found_p.append(p[hit])
        found_w.append(cand[hit, best[hit]])
        found_score.append(best_proj[hit])
    if not found_s:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    s, p = np.concatenate(found_s), np.concatenate(found_p)
    w, score = np.concatenate(found_w), np.concatenate(found_score)
    # in each tweet, the best-scoring positions within its budget
    order = np.lexsort((-score, s))
    s, p, w = s[order], p[order], w[order]
    first = np.searchsorted(s, s, side="left")
    keep = np.arange(s.size) - first < budget[s]
    return s[keep], p[keep], w[keep]


def greedy_search(estimator, X, y, seq, new_rows, rows, sets, budget, table):
    """Query-only greedy word substitution, in place on ``seq`` and ``new_rows``.

    Each step tries, for every tweet still classified correctly, every
    allowed candidate at every position not yet substituted, and keeps the
    one substitution that lowers the probability of the tweet's class most.
    A tweet stops when it is misclassified, its budget is spent, or no
    substitution lowers that probability. No gradient is used: the model is
    only queried through ``predict_proba``, as an attacker outside it would.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba`` and ``classes_``
    X : pandas.DataFrame
        The clean frame (its other columns go with every variant).
    y : array-like or None
        The true labels; None attacks the model's clean predictions.
    seq : ndarray of shape (n, n_words, dim)
        The text, rewritten in place.
    new_rows, rows : ndarray of shape (n, n_words)
        Table rows of the current and of the original words (-1: no word).
    sets : CandidateSets
    budget : ndarray of shape (n,)
        Substitutions left per tweet; spent in place.
    table : WordVectors
    """
    vectors = table.vectors
    labels = estimator.predict(X) if y is None else np.asarray(y)
    target = class_indices(estimator, labels)
    proba = estimator.predict_proba(X)
    current = proba[np.arange(len(X)), target]
    active = (proba.argmax(axis=1) == target) & (budget > 0)
    while active.any():
        tweets, positions, words = [], [], []
        for i in np.flatnonzero(active):
            open_p = np.flatnonzero((new_rows[i] == rows[i]) & (rows[i] >= 0))
            if not open_p.size:
                active[i] = False
                continue
            cand, allowed = sets.of(rows[i, open_p])
            p_idx, k_idx = np.nonzero(allowed)
            if not p_idx.size:
                active[i] = False
                continue
            tweets.append(np.full(p_idx.size, i))
            positions.append(open_p[p_idx])
            words.append(cand[p_idx, k_idx])
        if not tweets:
            break
        scores, flips = _score_variants(
            estimator, X, seq, tweets, positions, words, target, vectors
        )
        for i, pos, word, score, flip in zip(tweets, positions, words, scores, flips, strict=True):
            t = i[0]
            best = int(np.argmin(score))
            if not score[best] < current[t]:
                active[t] = False  # no substitution helps
                continue
            seq[t, pos[best]] = vectors[word[best]]
            new_rows[t, pos[best]] = word[best]
            current[t] = score[best]
            budget[t] -= 1
            if flip[best] or budget[t] == 0:
                active[t] = False


def _score_variants(estimator, X, seq, tweets, positions, words, target, vectors):
    """The true class's probability, and whether the prediction flips, of every variant."""
    scores, flips = [], []
    sizes = [len(t) for t in tweets]
    # whole tweets per predict_proba call, about _QUERY_ROWS variants each
    groups, group, total = [], [], 0
    for k, size in enumerate(sizes):
        if group and total + size > _QUERY_ROWS:
            groups.append(group)
            group, total = [], 0
        group.append(k)
        total += size
    groups.append(group)
    for group in groups:
        t = np.concatenate([tweets[k] for k in group])
        p = np.concatenate([positions[k] for k in group])
        w = np.concatenate([words[k] for k in group])
        text = seq[t].copy()
        text[np.arange(t.size), p] = vectors[w]
        variants = X.iloc[t].copy()
        variants["text"] = as_cells(text)
        proba = estimator.predict_proba(variants)
        score = proba[np.arange(t.size), target[t]]
        flip = proba.argmax(axis=1) != target[t]
        start = 0
        for k in group:
            stop = start + sizes[k]
            scores.append(score[start:stop])
            flips.append(flip[start:stop])
            start = stop
    return scores, flips
