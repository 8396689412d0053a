"""Bad input everywhere: clear errors naming the culprit, or a result with nothing lost."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn.pipeline import make_pipeline

from skmmat import (
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    make_crisis_tweets,
)

#: Texts that have broken tweet pipelines: missing values, emoji, mojibake,
#: right-to-left scripts, control and invisible characters, a lone surrogate,
#: 100,000 characters, markup-like and numeric-only texts.
HOSTILE_TEXTS = [
    None,
    np.nan,
    "",
    "   \t\n ",
    "🌊🔥🆘🙏🏽 #ayuda 👨‍👩‍👧",
    "Donâ€™t drive through flood water â€” stay safe",
    "فيضانات في المدينة، نحتاج مساعدة عاجلة",
    "שיטפון בעיר",
    "flood\x00\x07\x1b[31m\u200b\u202e\ufeff water\r\n\t\x7f",
    "\ud800 lone surrogate \udfff",
    "flood " * 16_667,
    "x" * 100_000,
    "<script>alert(1)</script> &amp; &#x1F30A;",
    "1234567890 3.14 -2e10",
]


@pytest.fixture(scope="session")
def small(tiny_params):
    """``tiny_params`` for one epoch, without early stopping, seeded, on one thread."""
    return {**tiny_params, "max_epochs": 1, "patience": None, "random_state": 0, "n_threads": 1}


@pytest.fixture(scope="session")
def pipeline(small):
    """``pipeline(**resizer)``: an unfitted resizer, sequencer and small classifier."""

    def pipeline(**resizer):
        return make_pipeline(
            ImageResizer(size=(32, 32), n_jobs=1, **resizer),
            GloveSequencer(),
            MultiModalCNNClassifier(**small),
        )

    return pipeline


@pytest.fixture(scope="module")
def df():
    return make_crisis_tweets(60, random_state=0)


@pytest.fixture(scope="module")
def fitted(df, pipeline):
    return pipeline().fit(df[["image", "text"]], df["label"])


@pytest.fixture(scope="module")
def text_model(df, small):
    model = make_pipeline(GloveSequencer(), MultiModalCNNClassifier(modalities="text", **small))
    return model.fit(df[["text"]], df["label"])


@pytest.fixture(scope="module")
def image_files(df, tmp_path_factory):
    """A frame whose image column holds PNG paths, plus a missing and a corrupt file."""
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i, img in enumerate(df["image"].iloc[:20]):
        path = folder / f"tweet_{i}.png"
        Image.fromarray(img).save(path)
        paths.append(str(path))
    corrupt = folder / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    frame = df.iloc[:20][["text", "label"]].assign(image=paths)
    return frame, str(folder / "missing.png"), str(corrupt)


# ----------------------------------------------------------------------
# image files
# ----------------------------------------------------------------------
def test_missing_image_file_raises_naming_it(image_files, pipeline):
    frame, missing, _ = image_files
    frame = frame.copy()
    frame.loc[frame.index[3], "image"] = missing
    with pytest.raises(FileNotFoundError, match="missing.png"):
        pipeline().fit(frame[["image", "text"]], frame["label"])


def test_corrupt_image_file_raises_naming_it(image_files, pipeline):
    frame, _, corrupt = image_files
    frame = frame.copy()
    frame.loc[frame.index[5], "image"] = corrupt
    with pytest.raises(ValueError, match="corrupt.jpg"):
        pipeline().fit(frame[["image", "text"]], frame["label"])


def test_on_error_blank_substitutes_warns_and_keeps_every_row(image_files, pipeline):
    frame, missing, corrupt = image_files
    frame = frame.copy()
    frame.loc[frame.index[3], "image"] = missing
    frame.loc[frame.index[5], "image"] = corrupt
    model = pipeline(on_error="blank")
    with pytest.warns(UserWarning, match=r"2 image file\(s\).*missing.png.*corrupt.jpg"):
        model.fit(frame[["image", "text"]], frame["label"])
    with pytest.warns(UserWarning, match="blank"):
        resized = model[0].transform(frame[["image"]])
    assert len(resized) == len(frame)
    assert not resized["image"].iloc[3].any() and not resized["image"].iloc[5].any()
    assert resized["image"].iloc[4].any()
    with pytest.warns(UserWarning, match="blank"):
        proba = model.predict_proba(frame[["image", "text"]])
    # the substitutes are black images: the same probabilities as black images given as arrays
    black = frame.assign(
        image=[
            np.zeros((32, 32, 3), np.uint8) if row in (3, 5) else image
            for row, image in enumerate(frame["image"])
        ]
    )
    np.testing.assert_array_equal(proba, model.predict_proba(black[["image", "text"]]))


# ----------------------------------------------------------------------
# wrong arrays, columns, labels, sizes
# ----------------------------------------------------------------------
def test_wrong_rank_image_arrays_raise_naming_the_row(df, pipeline):
    X = df[["image", "text"]].copy()
    X.at[X.index[2], "image"] = np.zeros((8, 8, 3, 1), np.uint8)
    with pytest.raises(ValueError, match=r"column 'image', row 2 .*\(8, 8, 3, 1\)"):
        pipeline().fit(X, df["label"])


def test_wrong_rank_arrays_given_to_the_classifier_raise_naming_the_column(fitted, df):
    Xp = fitted[:-1].transform(df[["image", "text"]])
    bad = Xp.copy()
    bad.at[bad.index[1], "image"] = np.zeros((32, 32), np.float32)
    with pytest.raises(ValueError, match=r"column 'image', row 1: expected an array with 3"):
        fitted[-1].predict(bad)
    bad = Xp.copy()
    bad.at[bad.index[0], "text"] = np.zeros(50, np.float32)
    with pytest.raises(ValueError, match=r"column 'text', row 0: expected an array with 2"):
        fitted[-1].predict(bad)
    bad = Xp.copy()
    bad.at[bad.index[4], "image"] = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="column 'image'.*different shapes"):
        fitted[-1].predict(bad)


@pytest.mark.parametrize("column", ["image", "text"])
def test_missing_column_at_fit_raises_naming_it(df, column, pipeline):
    X = df[["image", "text"]].drop(columns=column)
    with pytest.raises(ValueError, match=rf"missing column\(s\) \['{column}'\]"):
        pipeline().fit(X, df["label"])


def test_missing_column_at_predict_raises_naming_it(fitted, df):
    with pytest.raises(ValueError, match=r"missing column\(s\) \['image'\]"):
        fitted.predict(df[["text"]])
    Xp = fitted[:-1].transform(df[["image", "text"]])
    with pytest.raises(
        ValueError, match=r"MultiModalCNNClassifier: missing column\(s\) \['image'\]"
    ):
        fitted[-1].predict_proba(Xp.drop(columns="image"))


def test_unknown_columns_at_predict_are_ignored(fitted, df):
    X = df[["image", "text"]]
    extra = X.assign(unknown=1.0, other="x")[["other", "text", "unknown", "image"]]
    np.testing.assert_array_equal(fitted.predict_proba(extra), fitted.predict_proba(X))


@pytest.mark.parametrize(
    "labels, message",
    [
        (lambda y: y.mask(y.index == 3), r"1 missing \(NaN/None\) label"),
        (lambda y: y.where(y.index == -1, "informative"), "only one class"),
        (lambda y: y.iloc[:-1], "X has 60 rows but y has 59"),
        (lambda y: None, "requires y"),
    ],
    ids=["nan", "single-class", "length", "none"],
)
def test_bad_labels_raise(df, labels, message, pipeline):
    with pytest.raises(ValueError, match=message):
        pipeline().fit(df[["image", "text"]], labels(df["label"]))


def test_zero_rows(fitted, df, pipeline):
    empty = df[["image", "text"]].iloc[:0]
    with pytest.raises(ValueError, match="0 rows"):
        pipeline().fit(empty, df["label"].iloc[:0])
    # transformers pass an empty frame through, the classifier refuses it
    out = fitted[:-1].transform(empty)
    assert len(out) == 0 and {"image", "text"} <= set(out.columns)
    with pytest.raises(ValueError, match="0 rows"):
        fitted.predict(empty)


# ----------------------------------------------------------------------
# texts
# ----------------------------------------------------------------------
def hostile_frame(df):
    n = len(HOSTILE_TEXTS)
    # object dtype: pandas' string dtype cannot even hold the lone surrogate
    texts = pd.Series(HOSTILE_TEXTS, dtype=object)
    return pd.DataFrame({"image": df["image"].iloc[:n].to_numpy(), "text": texts})


def test_hostile_texts_through_the_full_pipeline(df, pipeline):
    hostile = hostile_frame(df)
    X = pd.concat([df[["image", "text"]].astype({"text": object}), hostile], ignore_index=True)
    y = np.concatenate([df["label"].to_numpy(), df["label"].to_numpy()[: len(hostile)]])
    model = pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without a warning
        model.fit(X, y)
        proba = model.predict_proba(hostile)
    assert proba.shape == (len(hostile), 2)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)
    assert len(model.predict(hostile)) == len(hostile)
    sequences = model[:-1].transform(hostile)["text"]
    assert all(s.shape == (15, 50) and np.isfinite(s).all() for s in sequences)
    # a missing or blank text reads as an empty one: all padding, the probabilities of ""
    blank = [0, 1, 2, 3]  # None, NaN, "", whitespace
    assert not any(sequences.iloc[i].any() for i in blank)
    empty = model.predict_proba(hostile.assign(text=""))
    np.testing.assert_array_equal(proba[blank], empty[blank])
    # and the 16,667 times repeated word fills the sequence with its vector
    flood = model[1].vectors_.vectors[model[1].vectors_.lookup(["flood"])[0]]
    np.testing.assert_array_equal(sequences.iloc[10], np.tile(flood, (15, 1)))


@settings(max_examples=30, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), st.text(max_size=200)), min_size=1, max_size=4),
)
def test_any_texts_give_finite_probabilities(text_model, texts):
    proba = text_model.predict_proba(pd.DataFrame({"text": pd.Series(texts, dtype=object)}))
    assert proba.shape == (len(texts), 2)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)


# ----------------------------------------------------------------------
# nothing is lost
# ----------------------------------------------------------------------
def test_every_transformer_and_predict_keep_rows_order_and_index(fitted, df):
    n = 12
    X = df[["image", "text"]].iloc[:n]
    # a shuffled, non-default index with a duplicate label
    labels = [f"t{i}" for i in range(n)][::-1]
    labels[5] = labels[6]
    X = X.set_axis(pd.Index(labels, name="tweet_id"))
    y = df["label"].iloc[:n].to_numpy()
    resized = fitted[0].transform(X)
    sequenced = fitted[1].transform(resized)
    clf = fitted[-1]
    perturbed = [
        FGSMPerturber(clf).fit(sequenced).craft(sequenced, y),
        FGSMPerturber(clf, n_iter=2, random_start=True, random_state=0).fit_transform(sequenced),
        WordSubstitutionPerturber(clf, n_candidates=3).fit(sequenced).craft(sequenced, y),
    ]
    for out in (resized, sequenced, *perturbed):
        assert len(out) == len(X)
        assert out.index.equals(X.index)
    for method in (clf.predict, clf.predict_proba):
        assert len(method(sequenced)) == len(X)
    assert all(len(g) == len(X) for g in clf.loss_gradient(sequenced).values())
    # row order is kept: predicting a permuted frame permutes the predictions
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(
        fitted.predict_proba(X.iloc[order]), fitted.predict_proba(X)[order]
    )
