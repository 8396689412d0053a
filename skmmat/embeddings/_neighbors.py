"""Nearest-neighbour candidate sets in a word-vector table.

:func:`nearest_neighbors` returns each requested word's ``n_neighbors``
closest other words, by exact search or with an approximate k-NN graph built
by :mod:`pynndescent`. Exact results are remembered per process and kept in
the on-disk cache; the graph of a whole table is built once and cached on disk
too, both under keys derived from the table's content, so every later
transform, fit and process reuses them.
:func:`match_rows` finds the table row of given vectors, with the same
blocked search.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .._torch_state import kept_torch_threads
from ._vectors import LOCK, WordVectors, get_cache_dir

__all__ = ["ALGORITHMS", "METRICS", "match_rows", "nearest_neighbors"]

_GRAPH_CACHE: dict = {}
_EXACT_MEMO: dict = {}

#: Distances accepted by :func:`nearest_neighbors`.
METRICS = ("euclidean", "cosine")
#: Search algorithms accepted by :func:`nearest_neighbors`.
ALGORITHMS = ("auto", "exact", "ann")
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
        as the bundled GloVe 6B table: about 0.4 ms per word on 2 cores, so
        about 4 s for the 10,000 words of CrisisMMD) and uses the graph for
        larger ones (GloVe Twitter's 1.2 million words). Exact neighbours are
        kept in memory and in the on-disk cache, so each word of a table is
        searched once per machine and read back after that. The choice
        depends on the table alone, never on what is cached, so the same data
        always gets the same candidates.
    random_state : int, default=0
        Seed of the graph construction; part of the cache key.
    n_jobs : int, optional
        Threads for graph construction.
    cache_dir : str or path-like, optional
        Where exact neighbours and graphs are kept; see :func:`get_cache_dir`.

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
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}.")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}, got {algorithm!r}.")
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
        return _exact_memoized(table, rows, n_neighbors, metric, cache_dir)
    graph_idx, graph_dist = _knn_graph(table, n_neighbors, metric, random_state, n_jobs, cache_dir)
    return _drop_self(graph_idx[rows], graph_dist[rows], rows, n_neighbors)


def _exact_memoized(table, rows, k, metric, cache_dir):
    """Exact neighbours, each row searched once per table and machine.

    Adversarial training and evaluation ask for the same words again and
    again (train, white-box test, transfer test, every round, every process
    of a parallel grid search). Found rows are remembered in memory and in
    one file per table, metric and ``k`` in the on-disk cache; a request
    searches only the rows neither holds.
    """
    key = (table.fingerprint, metric, k)
    path = get_cache_dir(cache_dir) / "neighbors" / _exact_file(table, metric, k)
    with LOCK:
        memo = _EXACT_MEMO.get(key)
        if memo is None:
            memo = _EXACT_MEMO[key] = {}
        missing = _missing(memo, rows)
        if missing.size and path not in _EXACT_READ:
            _EXACT_READ.add(path)
            memo.update(_read_exact_file(path, k))
            missing = _missing(memo, rows)
    if missing.size:
        idx, dist = _exact_neighbors(table.vectors, missing, k, metric)
        with LOCK:
            memo.update(zip(missing.tolist(), zip(idx, dist, strict=True), strict=True))
            _write_exact_file(path, memo, k)
    found = [memo[r] for r in rows.tolist()]
    return np.stack([f[0] for f in found]), np.stack([f[1] for f in found])


def _missing(memo, rows):
    return np.array([r for r in np.unique(rows).tolist() if r not in memo], dtype=np.int64)


#: version of the exact search's results on disk; bump it when they change
_EXACT_FORMAT = 1
#: files of exact neighbours read into the memo in this process
_EXACT_READ: set = set()


def _exact_file(table, metric, k):
    return f"{table.fingerprint}-{metric}-k{k}-exact-v{_EXACT_FORMAT}.npz"


def _read_exact_file(path, k):
    """Rows found by earlier searches, as ``{row: (indices, distances)}``."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            rows, idx, dist = data["rows"], data["indices"], data["distances"]
    except (OSError, ValueError, KeyError, EOFError):
        return {}  # a damaged file is searched again and rewritten
    if idx.shape != (len(rows), k) or dist.shape != idx.shape:
        return {}
    return dict(zip(rows.tolist(), zip(idx, dist, strict=True), strict=True))


def _write_exact_file(path, memo, k):
    """Store ``memo`` with the rows another process may have added meanwhile."""
    merged = {**_read_exact_file(path, k), **memo}
    rows = np.array(sorted(merged), dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        rows=rows,
        indices=np.stack([merged[r][0] for r in rows.tolist()]),
        distances=np.stack([merged[r][1] for r in rows.tolist()]),
    )
    os.replace(tmp, path)


#: queries per block of the exact search
_QUERY_BLOCK = 512
#: table rows per block: a (512 x 4096) distance block, 8 MB, stays in cache
_TABLE_BLOCK = 4096


def _exact_neighbors(vectors, rows, k, metric):
    """Brute-force k nearest other rows of ``rows``, closest first.

    Each block of queries keeps its best ``k`` so far and walks the table a
    cache-sized block of rows at a time: one matrix product gives the block's
    squared distances less the query's constant ``|q|^2`` (the table is
    augmented with ``|x|^2``, so no other pass over the block is needed), and
    only queries with a distance in the block under their current ``k``-th
    best are merged (``torch.topk`` on their rows alone). On 2 cores this
    searches a word against the 400,000 words of GloVe 6B in about 0.4 ms
    (0.7 ms on one thread), about four times faster than one ``topk`` over
    whole rows of distances.
    """
    import torch

    with warnings.catch_warnings():
        # the table is read-only, and nothing here writes to it
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        data = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    if metric == "cosine":
        data = data / data.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sq = torch.einsum("ij,ij->i", data, data)
    # |q - x|^2 - |q|^2 = [q, 1] . [-2x, |x|^2]
    table_aug = torch.cat([data * -2.0, sq[:, None]], dim=1)
    n_words = len(data)
    width = min(_TABLE_BLOCK, n_words)
    out_idx = np.empty((rows.size, k), np.int64)
    out_dist = np.empty((rows.size, k), np.float32)
    with torch.no_grad():
        for start in range(0, rows.size, _QUERY_BLOCK):
            q = torch.from_numpy(rows[start : start + _QUERY_BLOCK])
            queries = torch.cat([data[q], torch.ones(len(q), 1)], dim=1)
            best_d = torch.full((len(q), k), torch.inf)
            best_i = torch.zeros((len(q), k), dtype=torch.int64)
            block = torch.empty(len(q), width)
            for first in range(0, n_words, width):
                stop = min(first + width, n_words)
                d2 = block[:, : stop - first]
                torch.mm(queries, table_aug[first:stop].T, out=d2)
                own = ((q >= first) & (q < stop)).nonzero().squeeze(1)
                d2[own, q[own] - first] = torch.inf  # the word itself
                # "<=" keeps ties with the k-th best, which the row order breaks below
                hit = (d2.amin(dim=1) <= best_d[:, -1]).nonzero().squeeze(1)
                if hit.numel() == 0:
                    continue
                kk = min(k, stop - first)
                part_d, part_i = torch.topk(d2[hit], kk, dim=1, largest=False, sorted=False)
                cand_d = torch.cat([best_d[hit], part_d], dim=1)
                cand_i = torch.cat([best_i[hit], part_i + first], dim=1)
                _, keep = torch.topk(cand_d, k, dim=1, largest=False, sorted=False)
                best_d[hit] = torch.gather(cand_d, 1, keep)
                best_i[hit] = torch.gather(cand_i, 1, keep)
            part_d = (best_d + sq[q, None]).clamp_min_(0.0).numpy()
            part = best_i.numpy()
            # closest first, ties by row number
            order = np.lexsort((part, part_d), axis=1)
            idx = np.take_along_axis(part, order, axis=1)
            dist = np.take_along_axis(part_d, order, axis=1)
            # squared distance of unit vectors is 2 - 2 cos, so cosine distance is half of it
            dist = dist / 2.0 if metric == "cosine" else np.sqrt(dist)
            out_idx[start : start + len(q)] = idx
            out_dist[start : start + len(q)] = dist
    return out_idx, out_dist


#: elements of one (queries x table words) distance block of :func:`match_rows`: 64 MB
_BLOCK_ELEMENTS = 1 << 24


def _block_rows(n_words):
    """Queries per distance block, bounding its memory whatever the table's size."""
    return max(1, _BLOCK_ELEMENTS // max(1, n_words))


def match_rows(table, queries, *, caller="WordSubstitutionPerturber"):
    """Row of ``table`` whose vector equals each query vector.

    Each distinct vector is searched once (a tweet corpus repeats its words
    many times), a block of them at a time against the whole table, which
    bounds the ``(block, n_words)`` distance buffer (64 MB). A query matches
    a row when their squared distance is at most ``1e-6`` times
    ``max(1, |row|^2)``.

    Parameters
    ----------
    table : WordVectors
        The table, as returned by :func:`load_vectors`.
    queries : ndarray of shape (n_queries, dim)
        The vectors to find, such as the word vectors of a text column made
        by :class:`~skmmat.preprocessing.GloveSequencer`.
    caller : str, default="WordSubstitutionPerturber"
        Name that starts the error message.

    Returns
    -------
    rows : ndarray of shape (n_queries,), dtype int64
        Row number of each query's vector.

    Raises
    ------
    ValueError
        If a query vector is not a row of the table.

    Examples
    --------
    >>> import numpy as np
    >>> from skmmat.embeddings import WordVectors, match_rows
    >>> table = WordVectors(["a", "b", "c"], [[0.0], [1.0], [3.0]])
    >>> match_rows(table, np.array([[3.0], [0.0], [3.0]], dtype=np.float32))
    array([2, 0, 2])
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
    with LOCK:
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

    with kept_torch_threads():  # numba's OpenMP layer would change torch's thread count
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
    with LOCK:
        _GRAPH_CACHE[_graph_key(table, metric, random_state, width)] = (indices, distances)
    return indices, distances
