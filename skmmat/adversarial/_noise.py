"""The random word noise of randomized smoothing, and how far an attack moves it.

A noise draws, for each in-vocabulary word of a tweet, a random replacement
(a table row, or -1 for a masked word); :meth:`shift` bounds the total
variation distance between the noise around a tweet and the noise around any
tweet the threat model lets an attacker reach from it. Randomized smoothing
(:class:`~skmmat.adversarial.RandomizedSmoothingClassifier`) certifies with
that bound: the share of noisy copies voting for a class moves by at most
the distance.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

__all__ = ["MaskNoise", "SubstitutionNoise"]


class SubstitutionNoise:
    """Each word replaced by a uniform draw from its noise set (SAFER, Ye et al., 2020).

    A word's noise set is the word and its ``n_neighbors`` nearest words in
    the table. A substitution ``w -> w'`` moves that position's noise by
    ``1 - |N(w) & N(w')| / max(|N(w)|, |N(w')|)`` in total variation, and the
    noises of the positions are independent, so a tweet whose ``R`` worst
    positions are changed moves by at most ``1 - prod`` of their overlaps.

    Parameters
    ----------
    threat : ThreatModel
        The table, the neighbour search and the attacker's candidate sets.
    n_neighbors : int
        Size of each noise set, the word itself excluded.
    """

    name = "substitute"

    def __init__(self, threat, n_neighbors):
        self.threat = threat
        self.n_neighbors = int(n_neighbors)
        # the noise sets searched so far, one per line of _sets (its first _n_sets lines;
        # the array doubles as it fills), and each table row's line in it (-1: not yet)
        self._line = np.full(len(threat.vectors), -1, dtype=np.int64)
        self._sets = np.empty((0, self.n_neighbors + 1), dtype=np.int64)
        self._n_sets = 0

    def noise_sets(self, rows):
        """The noise set of each table row, as an array of shape (len(rows), n_neighbors + 1).

        A row's set is searched the first time it is asked for (all new rows
        of a call in one search) and looked up after that.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self._line)):
            raise ValueError(
                f"rows hold row numbers outside the table of {len(self._line)} words "
                f"(min {rows.min()}, max {rows.max()})."
            )
        new = self._line[rows] < 0
        if new.any():
            missing = np.unique(rows[new])
            found, _ = self.threat.candidates(missing, self.n_neighbors)
            self._store(missing, found)
        return self._sets[self._line[rows]]

    def _store(self, rows, neighbours):
        """Keep the noise sets of new rows: each row followed by its neighbours."""
        start, stop = self._n_sets, self._n_sets + len(rows)
        if stop > len(self._sets):
            grown = np.empty((max(stop, 2 * len(self._sets), 1024), self._sets.shape[1]), np.int64)
            grown[:start] = self._sets[:start]
            self._sets = grown
        self._sets[start:stop, 0] = rows
        self._sets[start:stop, 1:] = neighbours
        self._line[rows] = np.arange(start, stop)
        self._n_sets = stop

    def sample(self, rows, rng, n):
        """``n`` noisy copies of one tweet's rows (shape ``(n, n_words)``; -1 stays -1)."""
        words = np.flatnonzero(rows >= 0)
        out = np.repeat(rows[None, :], n, axis=0)
        if words.size:
            sets = self.noise_sets(rows[words])
            pick = rng.integers(0, sets.shape[1], size=(n, words.size))
            out[:, words] = sets[np.arange(words.size), pick]
        return out

    def position_overlaps(self, rows, sets):
        """Each position's smallest noise overlap with a candidate the attacker may pick.

        Parameters
        ----------
        rows : ndarray of int64 of shape (n, n_words)
            Table rows, -1 where there is no word.
        sets : CandidateSets
            The attacker's candidate sets of the rows' words.

        Returns
        -------
        overlaps : ndarray of float64 of shape (n, n_words)
            1 where the position cannot change.
        """
        out = np.ones(rows.shape, dtype=np.float64)
        words = np.unique(rows[rows >= 0])
        if not words.size:
            return out
        cand, allowed = sets.of(words)
        own = self.noise_sets(words)
        theirs = self.noise_sets(cand.ravel()).reshape(*cand.shape, -1)
        width = own.shape[1]
        shared = np.empty(cand.shape, dtype=np.int64)
        for start in range(0, len(words), 256):  # bounds the (words, candidates, W, W) test
            part = slice(start, start + 256)
            same = own[part, None, :, None] == theirs[part, :, None, :]
            shared[part] = same.any(axis=3).sum(axis=2)
        ratio = np.where(allowed, shared / width, 1.0).min(axis=1)
        mask = rows >= 0
        out[mask] = ratio[np.searchsorted(words, rows[mask])]  # words is sorted
        return out

    def shift(self, rows, sets, budget):
        """The total variation bound of each tweet, when ``budget`` words may change.

        Returns
        -------
        shift : ndarray of float64 of shape (n,)
        """
        overlaps = np.sort(self.position_overlaps(rows, sets), axis=1)
        # the product of the budget's smallest overlaps: column b of [1, cumulative products]
        products = np.cumprod(np.hstack([np.ones((len(rows), 1)), overlaps]), axis=1)
        budget = np.minimum(np.asarray(budget, dtype=np.int64), overlaps.shape[1])
        return 1.0 - products[np.arange(len(rows)), budget]


class MaskNoise:
    """Only a random ``keep_rate`` share of the words kept, the others masked.

    Each tweet keeps ``max(1, round(keep_rate * n))`` of its ``n``
    in-vocabulary words, drawn uniformly without replacement; a masked word
    is a zero vector (as padding) or, in raw text, left out. A change of
    ``R`` words moves the noise by at most the chance that a kept word is
    one of them: ``1 - C(n - R, k) / C(n, k)``, whatever the new words
    are (Zeng et al., 2023, RanMASK).

    Parameters
    ----------
    keep_rate : float in (0, 1]
    """

    name = "mask"

    def __init__(self, keep_rate):
        self.keep_rate = float(keep_rate)

    def kept(self, n_words):
        """Words kept of tweets with ``n_words`` in-vocabulary words."""
        n_words = np.asarray(n_words)
        return np.maximum(1, np.floor(self.keep_rate * n_words + 0.5)).astype(np.int64)

    def sample(self, rows, rng, n):
        """``n`` noisy copies of one tweet's rows (shape ``(n, n_words)``; masked: -1)."""
        words = np.flatnonzero(rows >= 0)
        out = np.repeat(rows[None, :], n, axis=0)
        if words.size:
            k = int(self.kept(words.size))
            rank = rng.random((n, words.size)).argsort(axis=1).argsort(axis=1)
            block = out[:, words]
            block[rank >= k] = -1
            out[:, words] = block
        return out

    def shift(self, rows, sets, budget):
        """The total variation bound of each tweet, when ``budget`` words may change."""
        n = (rows >= 0).sum(axis=1)
        changeable = np.zeros(len(rows), dtype=np.int64)
        words = np.unique(rows[rows >= 0])
        if words.size:
            _, allowed = sets.of(words)
            can = allowed.any(axis=1)[np.searchsorted(words, rows)]  # words is sorted
            changeable = (can & (rows >= 0)).sum(axis=1)
        r = np.minimum(np.asarray(budget, dtype=np.int64), changeable)
        k = self.kept(n)
        out = np.zeros(len(rows))
        moved = r > 0
        # C(n - r, k) / C(n, k), in logs; zero when fewer than k words stay unchanged
        stay = n - r >= k
        log_ratio = (
            gammaln(n - r + 1) - gammaln(n - r - k + 1) - gammaln(n + 1) + gammaln(n - k + 1)
        )
        ratio = np.where(stay, np.exp(np.where(stay, log_ratio, 0.0)), 0.0)
        out[moved] = 1.0 - ratio[moved]
        return out
