"""ThreatModel: what an attacker may change in a tweet, in one place.

Every attack, every robust training and every certificate reads the threat
model from here: the image ball and its projection, each word's candidate
set and the budget, and the boxes that hold them for interval bounds.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_array_column
from ..embeddings import load_vectors, match_rows, nearest_neighbors
from ._boxes import WordBoxes, image_box
from ._word_search import CandidateSets, substitution_budget

__all__ = ["ThreatModel", "Vocabulary"]


class ThreatModel:
    """What an attacker may change: the image ball, the text candidate sets and the budget.

    A perturber's threat model is :meth:`FGSMPerturber.threat_model` or
    :meth:`WordSubstitutionPerturber.threat_model` (also ``threat_model_``
    once fitted); :meth:`combine` joins an image and a text one. The attacks,
    in-loop and certified training and :func:`skmmat.metrics.certify` all read
    it, so they agree on what an attacker may reach.

    Parameters
    ----------
    eps : float or None, default=None
        Radius of the L-infinity ball around each image, in pixel units;
        None holds images fixed.
    clip : tuple of float or None, default=(0.0, 1.0)
        The valid pixel range, applied after every step; None for none.
    vectors : str, path-like, mapping or WordVectors, optional
        The word-vector table of the text; None holds texts fixed.
    n_candidates : int, default=10
        Size of each word's candidate set: its nearest words in the table.
    max_distance : float, optional
        Candidates further than this from their word are not allowed.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance of the neighbour search.
    algorithm : {"auto", "exact", "ann"}, default="auto"
        Neighbour search; see :func:`skmmat.embeddings.nearest_neighbors`.
    n_jobs : int, optional
        Threads of the approximate search.
    max_substitutions : int, float in (0, 1] or None, default=None
        The budget: words each tweet may have replaced (a count, or a share
        of its in-vocabulary words, rounded up); None lets every word change.
    tokens_column : str or None, default="tokens"
        Column of token tuples that names each position's word, when present.

    Examples
    --------
    >>> from skmmat import FGSMPerturber, WordSubstitutionPerturber
    >>> from skmmat.adversarial import ThreatModel
    >>> threat = ThreatModel.combine(FGSMPerturber(eps=0.05).threat_model(),
    ...                              WordSubstitutionPerturber(max_substitutions=3).threat_model())
    >>> threat.eps, threat.n_candidates, threat.max_substitutions
    (0.05, 10, 3)
    """

    def __init__(
        self,
        *,
        eps=None,
        clip=(0.0, 1.0),
        vectors=None,
        n_candidates=10,
        max_distance=None,
        metric="euclidean",
        algorithm="auto",
        n_jobs=None,
        max_substitutions=None,
        tokens_column="tokens",
    ):
        self.eps = None if eps is None else float(eps)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))
        self.vectors = None if vectors is None else load_vectors(vectors)
        self.n_candidates = int(n_candidates)
        self.max_distance = max_distance
        self.metric = metric
        self.algorithm = algorithm
        self.n_jobs = n_jobs
        self.max_substitutions = max_substitutions
        self.tokens_column = tokens_column

    @classmethod
    def combine(cls, image=None, text=None):
        """One threat model of an image one's ball and a text one's candidate sets.

        Parameters
        ----------
        image, text : ThreatModel or None
            Either may be None (that modality is held fixed).
        """
        out = cls()
        if image is not None:
            out.eps, out.clip = image.eps, image.clip
        if text is not None:
            for name in (
                "vectors",
                "n_candidates",
                "max_distance",
                "metric",
                "algorithm",
                "n_jobs",
                "max_substitutions",
                "tokens_column",
            ):
                setattr(out, name, getattr(text, name))
        return out

    def __repr__(self):
        parts = []
        if self.eps is not None:
            parts.append(f"eps={self.eps!r}, clip={self.clip!r}")
        if self.vectors is not None:
            parts.append(
                f"vectors={self.vectors.fingerprint!r}, n_candidates={self.n_candidates}, "
                f"max_distance={self.max_distance!r}, metric={self.metric!r}, "
                f"max_substitutions={self.max_substitutions!r}"
            )
        return f"ThreatModel({', '.join(parts)})"

    # images ------------------------------------------------------------------
    def image_box(self, image, share=1.0):
        """The box of the clipped ball around a batch of images, at ``share`` of ``eps``.

        Returns
        -------
        lower, upper : torch.Tensor
        """
        return image_box(image, self.eps * share, self.clip)

    @property
    def pixel_range(self):
        """(low, high): the clip range, infinite when ``clip`` is None."""
        return (-np.inf, np.inf) if self.clip is None else self.clip

    def project_image(self, x, x0):
        """``x`` projected onto the ``eps`` ball around ``x0`` and the clip range.

        One implementation for both kinds of arrays the attacks step in:
        numpy arrays (crafting, block by block) and torch tensors (in-loop
        training, on the training device).
        """
        low, high = self.pixel_range
        if isinstance(x, torch.Tensor):
            eps = self.eps
            return torch.minimum(torch.maximum(x, x0 - eps), x0 + eps).clamp(low, high)
        eps = np.float32(self.eps)
        return np.clip(np.clip(x, x0 - eps, x0 + eps), low, high)

    # texts -------------------------------------------------------------------
    def word_rows(self, X, seq, caller="ThreatModel"):
        """The table row of the word at each position of a frame; -1 for padding and OOV.

        Parameters
        ----------
        X : pandas.DataFrame
            The frame; its tokens column, when present, names the words.
        seq : ndarray of shape (n, n_words, dim)
            Its text column, stacked.
        caller : str
            Name used in messages.

        Returns
        -------
        rows : ndarray of int64 of shape (n, n_words)
        """
        table = self.vectors
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
            rows[unresolved] = match_rows(table, seq[unresolved], caller=caller)
        rows[~nonzero] = -1
        return rows

    def candidates(self, rows, n_candidates=None):
        """The nearest words of some table rows and their distances.

        The neighbour search of the threat model (its table, ``metric``,
        ``algorithm`` and ``n_jobs``), so that everything that reads a word's
        neighbours, such as the noise sets of randomized smoothing, finds
        the same ones.

        Parameters
        ----------
        rows : array-like of int
            Row numbers of words in the table.
        n_candidates : int, optional
            Neighbours per word, the word itself excluded; None is the
            threat model's ``n_candidates``.

        Returns
        -------
        indices : ndarray of int64 of shape (len(rows), n_candidates)
            Row numbers of the neighbours, closest first.
        distances : ndarray of float32 of shape (len(rows), n_candidates)
        """
        return nearest_neighbors(
            self.vectors,
            rows,
            self.n_candidates if n_candidates is None else n_candidates,
            metric=self.metric,
            algorithm=self.algorithm,
            n_jobs=self.n_jobs,
        )

    def candidate_sets(self, words):
        """The :class:`CandidateSets` of distinct table rows, ``max_distance`` applied."""
        if not len(words):
            empty = (0, self.n_candidates)
            return CandidateSets(words, np.empty(empty, np.int64), np.empty(empty, bool))
        cand_idx, cand_dist = self.candidates(words)
        allowed = np.ones(cand_idx.shape, dtype=bool)
        if self.max_distance is not None:
            allowed = cand_dist <= self.max_distance
        return CandidateSets(words, cand_idx, allowed)

    def budget(self, n_words):
        """Words each tweet may have replaced, from its in-vocabulary word count."""
        return substitution_budget(self.max_substitutions, n_words)

    def text_rows(self, X, caller):
        """The stacked text column of a frame and the table row of each position."""
        seq = check_array_column(X, "text", ndim=2, last_dim=self.vectors.dim, caller=caller)
        return seq, self.word_rows(X, seq, caller)

    def word_boxes(self, X, caller="ThreatModel"):
        """The box of every word of a frame and the word of each position.

        Returns
        -------
        boxes : WordBoxes
            Each word's box: its vector and its allowed candidates'.
        rows : ndarray of int64 of shape (n, n_words)
            The word of each position, -1 where it is fixed.
        """
        _, rows = self.text_rows(X, caller)
        sets = self.candidate_sets(np.unique(rows[rows >= 0]))
        return WordBoxes(sets, self.vectors.vectors), rows

    def vocabulary(self, X, caller="ThreatModel"):
        """The words of a frame with their candidate sets, for attacks on tensors.

        The candidate sets are searched once here, so that a training step
        only looks them up (:class:`Vocabulary`).
        """
        _, rows = self.text_rows(X, caller)
        words = np.unique(rows[rows >= 0])
        sets = self.candidate_sets(words)
        needed = np.unique(np.concatenate([words, sets.indices.ravel()]))
        compact = np.searchsorted(needed, words)
        vectors = np.ascontiguousarray(self.vectors.vectors[needed], dtype=np.float32)
        keys = vectors[compact].view(np.dtype((np.void, 4 * self.vectors.dim))).ravel()
        return Vocabulary(
            {k.tobytes(): int(c) for k, c in zip(keys, compact, strict=True)},
            vectors,
            CandidateSets(compact, np.searchsorted(needed, sets.indices), sets.allowed),
        )


class Vocabulary:
    """The words of a training frame in compact rows, with their candidate sets.

    Parameters
    ----------
    lookup : dict
        A word vector's float32 bytes to its compact row.
    vectors : ndarray of shape (n_rows, dim)
        The compact rows' vectors: the words and their candidates.
    sets : CandidateSets
        The words' candidate sets, in compact rows.
    """

    def __init__(self, lookup, vectors, sets):
        self.lookup = lookup
        self.vectors = vectors
        self.sets = sets

    def __len__(self):
        return len(self.sets.words)

    def rows(self, text):
        """The compact row of each position's word vector in a batch of texts (-1: none).

        Parameters
        ----------
        text : torch.Tensor of shape (n, n_words, dim)

        Returns
        -------
        rows : ndarray of int64 of shape (n, n_words)
        """
        array = np.ascontiguousarray(text.detach().cpu().numpy(), dtype=np.float32)
        n, length, dim = array.shape
        keys = array.reshape(n * length, dim).view(np.dtype((np.void, 4 * dim))).ravel()
        lookup = self.lookup
        rows = np.array([lookup.get(k.tobytes(), -1) for k in keys], dtype=np.int64)
        return rows.reshape(n, length)

    def word_boxes(self):
        """The :class:`WordBoxes` of the words."""
        return WordBoxes(self.sets, self.vectors)
