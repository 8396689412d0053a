"""GloveSequencer: tweets to fixed-length sequences of word vectors."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._validation import check_dataframe
from ..embeddings import WordVectors, load_vectors
from ._tokenize import tokenize_tweet

__all__ = ["GloveSequencer"]


class GloveSequencer(TransformerMixin, BaseEstimator):
    """Turn tweets into sequences of GloVe vectors (the paper's text input).

    Each text is tokenized (see :func:`tokenize_tweet`), its first
    ``max_len`` tokens are looked up in a word-vector table and the result is
    a float32 array of shape ``(max_len, dim)``. Positions past the end of a
    short tweet (padding) and words the table does not know (out of
    vocabulary) are zero vectors; an out-of-vocabulary word still takes its
    position, so the sequence keeps the tweet's word order. Empty, ``None``
    and NaN texts give an all-zero sequence.

    A word the table does not know but whose clitic-free stem and clitic it
    does (``"don't"``, ``"harvey's"``, ``"we're"``) is split the way the
    table's own corpus was tokenized: GloVe 6B knows ``"do"`` and ``"n't"``,
    ``"harvey"`` and ``"'s"``, not ``"don't"`` or ``"harvey's"`` (on the
    CrisisMMD tweets this halves the out-of-vocabulary rate). Both parts
    take a position. A table that knows the whole word keeps it whole.

    DataFrame in, DataFrame out: the output is a copy of the input whose
    ``column`` holds the arrays and whose ``tokens_column`` holds, per row, the
    tuple of kept tokens (position ``i`` of the array is the vector of
    ``tokens[i]``, zero when that word is out of vocabulary), so that word
    substitutions can be read back as words. Other columns pass through.

    Parameters
    ----------
    vectors : str, path-like, mapping or WordVectors, default="glove-6b-50d"
        The word-vector table: the bundled GloVe 6B 50-d table's name, a path
        to a GloVe-format text file (the paper used
        ``glove.twitter.27B.100d.txt``), a ``{word: vector}`` mapping, or a
        :class:`~skmmat.embeddings.WordVectors`. See
        :func:`~skmmat.embeddings.load_vectors`; a named table or file is
        loaded once per process and shared by every sequencer and perturber.
    max_len : int, default=15
        Number of word positions kept (the paper keeps the first 15 words).
    column : str, default="text"
        Column holding the raw texts (str). Cells may also be lists (or 1-d
        arrays) of already tokenized words, used as given.
    tokens_column : str, default="tokens"
        Column written with the kept tokens. ``None`` writes none.
    tokenizer : callable, optional
        ``tokenizer(text) -> list of str``; defaults to :func:`tokenize_tweet`.

    Attributes
    ----------
    vectors_ : WordVectors
        The loaded table.
    embedding_dim_ : int
        Dimension of the word vectors.
    oov_rate_ : float
        Share of the kept tokens of the fitting texts that the table does not
        know (0 when no text was seen).

    See Also
    --------
    ImageResizer : the image counterpart.
    skmmat.adversarial.WordSubstitutionPerturber : substitutes words in the
        sequences this transformer writes.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmmat.preprocessing import GloveSequencer
    >>> X = pd.DataFrame({"text": ["Flooding in #Houston", None]})
    >>> out = GloveSequencer(max_len=5).fit_transform(X)
    >>> out["text"].iloc[0].shape
    (5, 50)
    >>> out["tokens"].iloc[0]
    ('flooding', 'in', 'houston')
    >>> float(abs(out["text"].iloc[1]).sum())
    0.0
    """

    _parameter_constraints: dict = {
        "vectors": [str, os.PathLike, Mapping, WordVectors],
        "max_len": [Interval(Integral, 1, None, closed="left")],
        "column": [str],
        "tokens_column": [str, None],
        "tokenizer": [callable, None],
    }

    def __init__(
        self,
        vectors="glove-6b-50d",
        max_len=15,
        column="text",
        tokens_column="tokens",
        tokenizer=None,
    ):
        self.vectors = vectors
        self.max_len = max_len
        self.column = column
        self.tokens_column = tokens_column
        self.tokenizer = tokenizer

    def fit(self, X, y=None):
        """Load the word-vector table and check ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the text column.
        y : ignored

        Returns
        -------
        self : GloveSequencer
        """
        self._check_params()
        check_dataframe(X, [self.column], caller=type(self).__name__)
        self.vectors_ = load_vectors(self.vectors)
        self.embedding_dim_ = self.vectors_.dim
        tokens = self._tokenize_column(X)
        n_kept = sum(len(t) for t in tokens)
        n_oov = sum(int((self.vectors_.lookup(t) < 0).sum()) for t in tokens)
        self.oov_rate_ = n_oov / n_kept if n_kept else 0.0
        return self

    def _check_params(self):
        self._validate_params()
        if self.tokens_column == self.column:
            raise ValueError(
                "The 'tokens_column' parameter of GloveSequencer must differ from 'column' "
                f"({self.column!r}); the tokens would overwrite the sequences."
            )

    def __skmmat_getstate__(self):
        """Fitted state for :func:`skmmat.save_model`: the table and its statistics."""
        check_is_fitted(self, "vectors_")
        return {
            "vectors_": self.vectors_,
            "embedding_dim_": int(self.embedding_dim_),
            "oov_rate_": float(self.oov_rate_),
        }

    def __skmmat_setstate__(self, state):
        """Restore the state of :meth:`__skmmat_getstate__` (for :func:`skmmat.load_model`)."""
        self._check_params()
        self.vectors_ = state["vectors_"]
        self.embedding_dim_ = int(state["embedding_dim_"])
        self.oov_rate_ = float(state["oov_rate_"])
        return self

    def transform(self, X):
        """Replace the text column by word-vector sequences.

        Parameters
        ----------
        X : pandas.DataFrame
            Frame with the text column.

        Returns
        -------
        Xt : pandas.DataFrame
            A copy of ``X``; ``column`` holds float32 arrays of shape
            ``(max_len, embedding_dim_)``, ``tokens_column`` the kept tokens.
        """
        check_is_fitted(self, "vectors_")
        check_dataframe(X, [self.column], caller=type(self).__name__, allow_empty=True)
        tokens = self._tokenize_column(X)
        table = self.vectors_
        out = X.copy()
        sequences = np.empty(len(X), dtype=object)
        for i, words in enumerate(tokens):
            seq = np.zeros((self.max_len, table.dim), dtype=np.float32)
            rows = table.lookup(words)
            known = rows >= 0
            seq[: len(words)][known] = table.vectors[rows[known]]
            sequences[i] = seq
        out[self.column] = sequences
        if self.tokens_column is not None:
            out[self.tokens_column] = [tuple(t) for t in tokens]
        return out

    def _tokenize_column(self, X):
        tokenize = self.tokenizer
        tokens = []
        for row, cell in zip(X.index, X[self.column].to_numpy(), strict=True):
            if isinstance(cell, list | tuple) or (isinstance(cell, np.ndarray) and cell.ndim == 1):
                # pre-tokenized (an ndarray after a parquet round trip of a list column)
                tokens.append([str(w) for w in cell[: self.max_len]])
                continue
            if tokenize is None:
                words = tokenize_tweet(cell, max_tokens=self.max_len)
            else:
                words = list(tokenize(cell) if isinstance(cell, str) else [])[: self.max_len]
                if not all(isinstance(w, str) for w in words):
                    raise ValueError(
                        f"GloveSequencer: the tokenizer returned non-string tokens for row "
                        f"{row!r} of column {self.column!r}."
                    )
            tokens.append(_split_clitics(words, self.vectors_)[: self.max_len])
        return tokens

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


#: English clitics split off by the Penn Treebank tokenization GloVe 6B was trained on
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$")


def _split_clitics(words, table):
    """Split unknown ``stem + clitic`` words whose two parts the table knows."""
    rows = table.lookup(words)
    if (rows >= 0).all():
        return list(words)
    out = []
    for word, row in zip(words, rows, strict=True):
        match = _CLITIC.match(word) if row < 0 else None
        if match and (table.lookup(list(match.groups())) >= 0).all():
            out += match.groups()
        else:
            out.append(word)
    return out
