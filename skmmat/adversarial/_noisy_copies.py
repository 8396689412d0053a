"""Noisy copies of tweets, in the form a smoothed classifier's base model reads.

The input kinds of :class:`~skmmat.adversarial.RandomizedSmoothingClassifier`:
a preprocessed frame of word-vector sequences, a frame of raw tweets, or a
one-dimensional array of raw tweets. Each row's words are read once (table
rows, and the tokens of raw text); a noise then rewrites them copy by copy.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .._validation import check_dataframe
from ..preprocessing import tokenize_tweet
from ._base import as_cells

__all__ = [
    "Words",
    "copy_blocks",
    "input_kind",
    "noisy_copies",
    "pad_rows",
    "query_rngs",
    "read_words",
    "take_rows",
]

#: noisy copies handed to the base model per call: bounds the memory of a block
COPIES_PER_CALL = 8192


class Words:
    """One row's words: table rows (-1: none) and, for raw text, the tokens."""

    __slots__ = ("rows", "tokens")

    def __init__(self, rows, tokens):
        self.rows = np.asarray(rows, dtype=np.int64)
        self.tokens = tokens


def input_kind(X, caller):
    """``"vectors"``, ``"frame of strings"`` or ``"strings"``; a ValueError for anything else."""
    if isinstance(X, pd.DataFrame):
        check_dataframe(X, ["text"], caller=caller)
        first = X["text"].iloc[0]
        return "frame of strings" if isinstance(first, str) else "vectors"
    if isinstance(X, str) or not hasattr(X, "__len__"):
        raise ValueError(
            f"{caller} expects a pandas DataFrame with a 'text' column, or a one-dimensional "
            f"array of tweets; got {type(X).__name__}."
        )
    array = np.asarray(X, dtype=object)
    if array.ndim != 1 or not len(array):
        raise ValueError(
            f"{caller} expects a pandas DataFrame with a 'text' column, or a non-empty "
            f"one-dimensional array of tweets; got an array of shape {array.shape}."
        )
    bad = [i for i, t in enumerate(array) if not isinstance(t, str)]
    if bad:
        raise ValueError(
            f"{caller}: the tweets must be strings; row {bad[0]} holds "
            f"{type(array[bad[0]]).__name__}."
        )
    return "strings"


def read_words(X, kind, threat, caller):
    """Each row's :class:`Words`, as an object array."""
    if kind == "vectors":
        _, rows = threat.text_rows(X, caller)
        return np.array([Words(r, None) for r in rows], dtype=object)
    texts = X["text"] if isinstance(X, pd.DataFrame) else X
    out = []
    for text in texts:
        tokens = tokenize_tweet(text)
        out.append(Words(threat.vectors.lookup(tokens), tokens))
    return np.array(out, dtype=object)


def query_rngs(words, seed, purpose):
    """``rng(i)``: the generator of row ``i``, from the seed, the purpose and its words alone."""

    def rng(i):
        digest = hashlib.blake2b(
            np.asarray(words[i].rows, dtype=np.int64).tobytes(),
            digest_size=16,
            key=f"{seed}:{purpose}".encode(),
        ).digest()
        return np.random.default_rng(int.from_bytes(digest, "little"))

    return rng


def noisy_copies(X, words, n, rngs, noise, kind, threat):
    """``n`` noisy copies of every row, each row's copies together, as the base model reads.

    Parameters
    ----------
    X : pandas.DataFrame or ndarray of str
        The rows.
    words : ndarray of Words
        Their words.
    n : int
        Copies per row.
    rngs : callable
        ``rngs(i)``: the generator of row ``i``'s noise.
    noise : MaskNoise or SubstitutionNoise
    kind : str
        The input's kind (:func:`input_kind`).
    threat : ThreatModel
        The word table.
    """
    noisy = [noise.sample(w.rows, rngs(i), n) for i, w in enumerate(words)]
    if kind == "vectors":
        seq = np.stack(list(X["text"]))
        rows = np.concatenate(noisy)  # (len * n, n_words)
        out_seq = np.repeat(seq, n, axis=0).astype(np.float32, copy=True)
        word = np.repeat(np.stack([w.rows for w in words]) >= 0, n, axis=0)
        out_seq[word] = 0.0  # masked words are zero vectors, as padding
        changed = word & (rows >= 0)
        out_seq[changed] = threat.vectors.vectors[rows[changed]]
        copies = X.iloc[np.repeat(np.arange(len(X)), n)].reset_index(drop=True)
        copies["text"] = as_cells(out_seq)
        tokens = threat.tokens_column
        if tokens is not None and tokens in copies.columns:
            copies = copies.drop(columns=tokens)  # they name the clean words
        return copies
    table_words = threat.vectors.words
    texts = []
    for w, rows in zip(words, noisy, strict=True):
        for copy_rows in rows:
            kept = [
                tok if orig < 0 else table_words[r]
                for tok, orig, r in zip(w.tokens, w.rows, copy_rows, strict=True)
                if orig < 0 or r >= 0
            ]
            texts.append(" ".join(kept))
    if kind == "strings":
        return np.array(texts, dtype=object)
    copies = X.iloc[np.repeat(np.arange(len(X)), n)].reset_index(drop=True)
    copies["text"] = texts
    return copies


def take_rows(X, block):
    """Rows ``block`` of a frame or of an array of tweets."""
    return X.iloc[block] if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object)[block]


def copy_blocks(n_rows, n_copies):
    """Slices of rows whose ``n_copies`` copies each fit one call of the base model."""
    step = max(1, COPIES_PER_CALL // n_copies)
    return [slice(start, start + step) for start in range(0, n_rows, step)]


def pad_rows(words):
    """The rows of every row's words in one array, padded with -1."""
    width = max((len(w.rows) for w in words), default=0)
    out = np.full((len(words), width), -1, dtype=np.int64)
    for i, w in enumerate(words):
        out[i, : len(w.rows)] = w.rows
    return out
