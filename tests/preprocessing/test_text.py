"""Tests of GloveSequencer on the real GloVe 6B 50-d table."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

import skmmat.embeddings as emb
from skmmat.embeddings import WordVectors, load_vectors
from skmmat.preprocessing import GloveSequencer, ImageResizer

pytestmark = pytest.mark.usefixtures("tmp_cache")


def vec(table, word):
    row = table.lookup([word])[0]
    assert row >= 0, word
    return table.vectors[row]


TEXTS = [
    "RT @cnn: Flooding in #HoustonTX &amp; more https://t.co/x",
    "Donâ€™t drive through qwzxvbnm water 🌊",
    None,
]


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "text": TEXTS,
            "label": ["flood", "flood", "other"],
            "score": [0.5, 1.5, np.nan],
        },
        index=pd.Index(["t9", "t2", "t7"], name="tweet_id"),
    )


def test_output_shapes_dtypes_and_values(glove, frame):
    seq = GloveSequencer().fit(frame)
    out = seq.transform(frame)
    assert seq.embedding_dim_ == 50
    assert seq.vectors_ is glove
    for cell in out["text"]:
        assert isinstance(cell, np.ndarray)
        assert cell.shape == (15, 50)
        assert cell.dtype == np.float32

    tokens = out["tokens"].tolist()
    assert tokens[0] == ("flooding", "in", "houston", "tx", "more")
    assert tokens[1] == ("do", "n't", "drive", "through", "qwzxvbnm", "water")
    assert tokens[2] == ()

    first = out["text"].iloc[0]
    for i, word in enumerate(tokens[0]):
        np.testing.assert_array_equal(first[i], vec(glove, word))
    assert not first[len(tokens[0]) :].any()  # padding

    second = out["text"].iloc[1]
    # GloVe 6B knows "do" and "n't", not "don't": split as its corpus was
    np.testing.assert_array_equal(second[:2], glove.vectors[glove.lookup(["do", "n't"])])
    np.testing.assert_array_equal(second[2], vec(glove, "drive"))
    assert not second[4].any()  # OOV: zero, but it keeps its position ...
    np.testing.assert_array_equal(second[5], vec(glove, "water"))  # ... so "water" is 6th
    assert not second[6:].any()

    assert not out["text"].iloc[2].any()  # None: all zeros


def test_input_is_not_mutated_and_other_columns_pass_through(frame):
    before = copy.deepcopy(frame)
    out = GloveSequencer().fit_transform(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert "tokens" not in frame.columns
    assert out is not frame
    pd.testing.assert_index_equal(out.index, frame.index)
    pd.testing.assert_series_equal(out["label"], frame["label"])
    pd.testing.assert_series_equal(out["score"], frame["score"])
    assert list(out.columns) == ["text", "label", "score", "tokens"]


def test_truncation_to_max_len(glove):
    words = ["the", "water", "is", "rising", "fast", "near", "the", "river", "bank"]
    X = pd.DataFrame({"text": [" ".join(words)]})
    out = GloveSequencer(max_len=4).fit_transform(X)
    seq = out["text"].iloc[0]
    assert seq.shape == (4, 50)
    assert out["tokens"].iloc[0] == tuple(words[:4])
    np.testing.assert_array_equal(seq, glove.vectors[glove.lookup(words[:4])])


@pytest.mark.parametrize("empty", [None, np.nan, "", "   ", "🌊🌊", "https://t.co/x @cnn"])
def test_empty_texts_give_zeros_and_no_tokens(empty):
    X = pd.DataFrame({"text": ["flood", empty]})
    out = GloveSequencer(max_len=6).fit_transform(X)
    seq = out["text"].iloc[1]
    assert seq.shape == (6, 50)
    assert not seq.any()
    assert out["tokens"].iloc[1] == ()


def test_pandas_string_dtype_column(glove):
    X = pd.DataFrame({"text": pd.array(["flood warning", None], dtype="string")})
    out = GloveSequencer(max_len=3).fit_transform(X)
    np.testing.assert_array_equal(out["text"].iloc[0][1], vec(glove, "warning"))
    assert not out["text"].iloc[1].any()


def test_pre_tokenized_cells_are_used_as_given(glove):
    X = pd.DataFrame(
        {
            "text": [
                ["flood", "Houston", "rescue"],
                ("fire", "smoke"),
                np.array(["storm", "surge", "qwzxvbnm", "wind"], dtype=object),
                [],
            ]
        }
    )
    out = GloveSequencer(max_len=3).fit_transform(X)
    # not tokenized again: "Houston" keeps its capital and is out of vocabulary
    assert out["tokens"].tolist() == [
        ("flood", "Houston", "rescue"),
        ("fire", "smoke"),
        ("storm", "surge", "qwzxvbnm"),
        (),
    ]
    first = out["text"].iloc[0]
    np.testing.assert_array_equal(first[0], vec(glove, "flood"))
    assert not first[1].any()
    np.testing.assert_array_equal(first[2], vec(glove, "rescue"))
    third = out["text"].iloc[2]
    np.testing.assert_array_equal(third[:2], glove.vectors[glove.lookup(["storm", "surge"])])
    assert not third[2].any()
    assert not out["text"].iloc[3].any()


def test_unknown_contractions_and_possessives_are_split_as_glove_was(glove):
    X = pd.DataFrame({"text": ["We're safe, don't worry: Harvey's rain can't reach y'all"]})
    seq = GloveSequencer(max_len=15).fit(X)
    out = seq.transform(X)
    tokens = out["tokens"].iloc[0]
    assert tokens == (
        "we", "'re", "safe", "do", "n't", "worry", "harvey", "'s",
        "rain", "ca", "n't", "reach", "y'all",
    )  # fmt: skip
    cell = out["text"].iloc[0]
    np.testing.assert_array_equal(cell[3:5], glove.vectors[glove.lookup(["do", "n't"])])
    np.testing.assert_array_equal(cell[12], 0.0)  # "y'all": unknown, and no clitic to split
    assert seq.oov_rate_ == pytest.approx(1 / 13)
    # the parts take positions: max_len counts them
    assert GloveSequencer(max_len=5).fit_transform(X)["tokens"].iloc[0] == (
        "we", "'re", "safe", "do", "n't",
    )  # fmt: skip


def test_a_table_knowing_the_whole_word_keeps_it_whole():
    rng = np.random.default_rng(0)
    words = ["don't", "do", "n't", "harvey", "'s"]
    table = dict(zip(words, rng.normal(size=(5, 4)).astype(np.float32), strict=True))
    X = pd.DataFrame({"text": ["don't harvey's"]})
    out = GloveSequencer(vectors=table).fit_transform(X)
    assert out["tokens"].iloc[0] == ("don't", "harvey", "'s")
    np.testing.assert_array_equal(out["text"].iloc[0][0], table["don't"])
    # pre-tokenized cells are never split
    pre = pd.DataFrame({"text": [["harvey's", "don't"]]})
    assert GloveSequencer(vectors=table).fit_transform(pre)["tokens"].iloc[0] == (
        "harvey's",
        "don't",
    )


def test_custom_tokenizer(glove):
    X = pd.DataFrame({"text": ["Flood warning #now", None]})
    seq = GloveSequencer(max_len=4, tokenizer=str.split).fit(X)
    out = seq.transform(X)
    assert out["tokens"].tolist() == [("Flood", "warning", "#now"), ()]
    cell = out["text"].iloc[0]
    assert not cell[0].any()  # "Flood" is not in the lower-case table
    np.testing.assert_array_equal(cell[1], vec(glove, "warning"))
    assert not cell[2].any() and not cell[3].any()
    assert seq.oov_rate_ == pytest.approx(2 / 3)


def test_tokenizer_returning_non_strings_raises_naming_the_column():
    X = pd.DataFrame({"tweet": ["a b"]})
    seq = GloveSequencer(column="tweet", tokenizer=lambda s: [1, 2])
    with pytest.raises(ValueError, match="'tweet'"):
        seq.fit(X)


def test_glove_text_file_as_vectors(tmp_path):
    path = tmp_path / "tiny_glove.txt"
    path.write_text("flood 1 2 3\nwater 4 5 6\nnew york 7 8 9\n", encoding="utf-8")
    X = pd.DataFrame({"text": ["Flood WATER everywhere", ["new york", "flood"]]})
    seq = GloveSequencer(vectors=str(path), max_len=4).fit(X)
    assert seq.embedding_dim_ == 3
    assert seq.vectors_ is load_vectors(path)
    out = seq.transform(X)
    np.testing.assert_array_equal(out["text"].iloc[0], [[1, 2, 3], [4, 5, 6], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(out["text"].iloc[1], [[7, 8, 9], [1, 2, 3], [0, 0, 0], [0, 0, 0]])
    assert seq.oov_rate_ == pytest.approx(1 / 5)
    # the fitted sequencer pickles the table as a reference to its file
    assert len(pickle.dumps(seq)) < 2000


def test_mapping_and_word_vectors_as_vectors():
    mapping = {"flood": [1.0, -1.0], "fire": [0.5, 0.25]}
    X = pd.DataFrame({"text": ["fire and flood"]})
    out = GloveSequencer(vectors=mapping, max_len=3).fit_transform(X)
    np.testing.assert_array_equal(out["text"].iloc[0], [[0.5, 0.25], [0, 0], [1.0, -1.0]])
    assert out["text"].iloc[0].dtype == np.float32

    table = WordVectors(["flood", "fire"], [[1.0, -1.0], [0.5, 0.25]])
    seq = GloveSequencer(vectors=table, max_len=3).fit(X)
    assert seq.vectors_ is table
    np.testing.assert_array_equal(seq.transform(X)["text"].iloc[0], out["text"].iloc[0])


def test_table_is_loaded_once(glove, frame, monkeypatch):
    first = GloveSequencer().fit(frame)
    # a second fit, another sequencer, and a fresh per-process cache would reload:
    # forbid reading the package's files to show the shared table is reused
    monkeypatch.setattr(emb._vectors, "load_bundled", lambda name: pytest.fail("table reloaded"))
    again = first.fit(frame).vectors_
    other = GloveSequencer(max_len=3).fit(frame).vectors_
    assert again is glove and other is glove
    # the fitted sequencer pickles the bundled table as a tiny reference
    payload = pickle.dumps(first)
    assert len(payload) < 2000
    assert pickle.loads(payload).vectors_ is glove


def test_oov_rate(frame):
    seq = GloveSequencer().fit(frame)
    # 11 kept tokens ("don't" split in two known ones); GloVe 6B does not know "qwzxvbnm"
    assert seq.oov_rate_ == pytest.approx(1 / 11)
    empty = GloveSequencer().fit(pd.DataFrame({"text": [None, ""]}))
    assert empty.oov_rate_ == 0.0


def test_tokens_column_options(frame):
    out = GloveSequencer(tokens_column=None).fit_transform(frame)
    assert list(out.columns) == ["text", "label", "score"]
    out = GloveSequencer(tokens_column="words").fit_transform(frame)
    assert out["words"].iloc[0][0] == "flooding"


def test_custom_column(glove):
    X = pd.DataFrame({"tweet": ["flood"], "text": ["untouched"]})
    out = GloveSequencer(column="tweet", max_len=2).fit_transform(X)
    np.testing.assert_array_equal(out["tweet"].iloc[0][0], vec(glove, "flood"))
    assert out["text"].iloc[0] == "untouched"


def test_empty_frame_transforms_but_does_not_fit(frame):
    seq = GloveSequencer().fit(frame)
    out = seq.transform(frame.iloc[:0])
    assert len(out) == 0
    assert {"text", "tokens"} <= set(out.columns)
    with pytest.raises(ValueError, match="0 rows"):
        GloveSequencer().fit(frame.iloc[:0])


def test_missing_column_raises_naming_it():
    X = pd.DataFrame({"txt": ["flood"]})
    with pytest.raises(ValueError, match="'text'"):
        GloveSequencer().fit(X)
    seq = GloveSequencer().fit(pd.DataFrame({"text": ["flood"]}))
    with pytest.raises(ValueError, match="'text'"):
        seq.transform(X)


def test_non_dataframe_input_raises():
    with pytest.raises(ValueError, match="DataFrame"):
        GloveSequencer().fit(["flood"])


@pytest.mark.parametrize("bad", [0, -3, 2.5, "15", None])
def test_bad_max_len_raises_naming_it(bad):
    with pytest.raises(ValueError, match="'max_len'"):
        GloveSequencer(max_len=bad).fit(pd.DataFrame({"text": ["flood"]}))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"column": 3}, "column"),
        ({"tokens_column": 3}, "tokens_column"),
        ({"tokens_column": "text"}, "tokens_column"),
        ({"tokenizer": "split"}, "tokenizer"),
        ({"vectors": 42}, "vectors"),
        ({"vectors": "glove-6b-999d"}, "glove-6b-999d"),
    ],
)
def test_bad_params_raise_naming_them(params, name):
    with pytest.raises((ValueError, FileNotFoundError), match=name):
        GloveSequencer(**params).fit(pd.DataFrame({"text": ["flood"]}))


def test_not_fitted_raises():
    with pytest.raises(NotFittedError):
        GloveSequencer().transform(pd.DataFrame({"text": ["flood"]}))


# ---------------------------------------------------------------------------
# scikit-learn compatibility
# ---------------------------------------------------------------------------


def test_clone_get_params_set_params_round_trip(glove):
    seq = GloveSequencer(vectors=glove, max_len=9, tokenizer=str.split, tokens_column=None)
    params = seq.get_params()
    assert params == {
        "vectors": glove,
        "max_len": 9,
        "column": "text",
        "tokens_column": None,
        "tokenizer": str.split,
    }
    twin = clone(seq)
    assert twin is not seq
    # cloning deep-copies the table parameter, which for a named table is the
    # shared object itself, not a copy of 400,000 vectors
    assert twin.vectors is glove
    assert twin.get_params() == params
    twin.set_params(max_len=3, column="tweet")
    assert twin.max_len == 3 and twin.column == "tweet"
    assert seq.max_len == 9
    mapping = {"flood": [1.0, 2.0]}
    assert clone(GloveSequencer(vectors=mapping)).get_params()["vectors"] == mapping


def test_fitted_clone_is_unfitted(frame):
    seq = GloveSequencer(max_len=4).fit(frame)
    with pytest.raises(NotFittedError):
        clone(seq).transform(frame)


def test_pipeline_with_image_resizer(tmp_path, glove):
    path = tmp_path / "photo.png"
    Image.new("RGB", (90, 40), (255, 0, 0)).save(path)
    X = pd.DataFrame({"image": [str(path), np.zeros((8, 8), np.uint8)], "text": ["Flood!", None]})
    pipe = make_pipeline(ImageResizer(), GloveSequencer())
    assert pipe.get_params()["glovesequencer__max_len"] == 15
    pipe.set_params(glovesequencer__max_len=10, imageresizer__size=(32, 16))
    assert pipe.named_steps["glovesequencer"].max_len == 10
    out = pipe.fit_transform(X)
    assert out["image"].iloc[0].shape == (32, 16, 3)
    np.testing.assert_allclose(out["image"].iloc[0][..., 0], 1.0)
    assert out["text"].iloc[0].shape == (10, 50)
    np.testing.assert_array_equal(out["text"].iloc[0][0], vec(glove, "flood"))
    assert out["tokens"].tolist() == [("flood",), ()]
    # a clone of the pipeline keeps the parameters, not the fit
    twin = clone(pipe)
    assert twin.get_params()["glovesequencer__max_len"] == 10
    with pytest.raises(NotFittedError):
        twin.transform(X)
