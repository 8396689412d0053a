"""Real CrisisMMD: the California wildfires images and annotations, where present.

A fixed subset of 64 image-tweet pairs (the first 60 rows and 4 of the PNG
files stored under a ``.jpg`` name, as in the original release) covers the
image decoding, a multi-modal fit, predict and joint attack, the case study
(the paper's Fig. 4 and 5) and the split by tweet. Skipped when the shared
CrisisMMD copy or its images are absent.
"""

import os

import numpy as np
import pytest
from PIL import Image

from skmmat import GloveSequencer, ImageResizer, MultiModalCNNClassifier, load_crisismmd
from skmmat._report import write_report
from skmmat.adversarial import craft_adversarial
from skmmat.datasets import crisismmd_train_test_split
from skmmat.experiments import Table1Result, case_study
from skmmat.metrics import adversarial_score, prediction_scores

EVENT = "california_wildfires"


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def california(crisismmd_root):
    df = load_crisismmd(crisismmd_root, events=EVENT)
    present = df["image"].map(os.path.isfile)
    if not present.all():
        pytest.skip(f"the {EVENT} images are not in this copy of CrisisMMD")
    return df


@pytest.fixture(scope="module")
def subset(california):
    png = california[california["image"].map(_is_png)]
    assert len(png) == 22  # as in the original release
    rows = california.iloc[:60].index.union(png.index[:4])
    return california.loc[rows].reset_index(drop=True)


def test_real_jpegs_and_pngs_named_jpg_decode_like_pil(subset):
    out = ImageResizer(size=(64, 64), decode="full").fit_transform(subset)
    images = np.stack(list(out["image"]))
    assert images.shape == (64, 64, 64, 3) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.std() > 0.1
    for i in (0, len(subset) - 1):  # a JPEG and a PNG under a .jpg name
        path = subset["image"].iloc[i]
        with Image.open(path) as img:
            expected = np.asarray(
                img.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR), np.float32
            )
        np.testing.assert_allclose(images[i], expected / 255.0, atol=1.5 / 255)
    assert _is_png(subset["image"].iloc[-1]) and not _is_png(subset["image"].iloc[0])
    # the default, reduced JPEG decoding: within a small tolerance of the full decode
    reduced = np.stack(list(ImageResizer(size=(64, 64)).fit_transform(subset)["image"]))
    diff = np.abs(reduced - images)
    assert 0 < diff.mean() < 1.5 / 255 and np.quantile(diff, 0.99) < 12 / 255
    np.testing.assert_array_equal(reduced[-4:], images[-4:])  # PNG files: decoded in full


@pytest.fixture(scope="module")
def real_rows(subset):
    """The subset preprocessed (32x32 images, GloVe), its labels and an MMN fitted on it."""
    X = GloveSequencer().fit_transform(ImageResizer(size=(32, 32)).fit_transform(subset))
    y = subset["label"].to_numpy()
    clf = MultiModalCNNClassifier(
        hidden_units=16,
        image_filters=(8, 16),
        text_filters=16,
        max_epochs=25,
        lr=3e-3,
        patience=None,
        class_weight="balanced",
        random_state=0,
    ).fit(X, y)
    return X, y, clf


def test_mmn_fits_predicts_and_is_attacked_on_real_rows(real_rows):
    X, y, clf = real_rows
    proba = clf.predict_proba(X)
    assert proba.shape == (64, 2)
    clean = prediction_scores(y, clf.predict(X))
    assert not clean["one_class"]  # the balanced loss keeps the minority in view
    X_adv = craft_adversarial(clf, X, y, image_perturber="default", text_perturber="default")
    delta = np.abs(np.stack(list(X_adv["image"])) - np.stack(list(X["image"])))
    assert delta.max() == pytest.approx(0.1, abs=1e-6)  # FGSM's eps, in pixel units
    assert list(X_adv["tokens"]) != list(X["tokens"])  # words were substituted
    attacked = adversarial_score(clf, X, y, metric="accuracy")
    assert attacked == np.mean(clf.predict(X_adv) == y) < clean["accuracy"]


def test_case_study_on_real_tweets_and_its_report(real_rows, tmp_path):
    X, y, clf = real_rows
    study = case_study({"MMN": clf}, X, y, n_examples=2)
    X_adv = craft_adversarial(clf, X, y, image_perturber="default", text_perturber="default")
    pred, pred_adv = clf.predict(X), clf.predict(X_adv)
    flipped = (pred == y) & (pred_adv != y)
    assert study.n_flipped == flipped.sum() > 0
    assert study.correct["MMN"] == (pred == y).sum()
    assert study.correct_adv["MMN"] == (pred_adv == y).sum()
    assert study.flipped_kept["MMN"] == 0  # flipped, by definition
    assert len(study.examples) == 2
    # one tweet per class where the attack flips both, as in the paper's Fig. 4 and 5
    flipped_labels = set(y[flipped])
    assert {ex.label for ex in study.examples} == flipped_labels or len(flipped_labels) == 1
    for ex in study.examples:
        i = ex.row
        p = ex.predictions["MMN"]
        assert flipped[i] and p["pred"] == y[i] == ex.label and p["pred_adv"] != y[i]
        assert p["confidence"] == pytest.approx(clf.predict_proba(X.iloc[[i]]).max(), abs=1e-6)
        np.testing.assert_array_equal(ex.image, X["image"].iloc[i])
        np.testing.assert_allclose(ex.image_adv, X_adv["image"].iloc[i])
        assert ex.tokens == tuple(X["tokens"].iloc[i])
        assert ex.tokens_adv == tuple(X_adv["tokens"].iloc[i])
        assert ex.substituted == tuple(
            k for k, (a, b) in enumerate(zip(ex.tokens, ex.tokens_adv)) if a != b
        )
    paths = write_report({EVENT: (_results(clf), study)}, tmp_path, title="case study")
    assert [p.name for p in paths] == ["report.md", "table1.png", "examples.png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = paths[0].read_text()
    first = study.examples[0]
    assert f"| MMN | {first.predictions['MMN']['pred']} (" in report
    if first.substituted:
        k = first.substituted[0]
        assert f"~~{first.tokens[k]}~~ **{first.tokens_adv[k]}**" in report


def _results(clf):
    return {"mmn": Table1Result("mmn", 0.8, 0.3, 0.3, None, 1.0, estimator=clf)}


def test_pairs_of_one_tweet_straddle_a_row_split_but_not_a_grouped_one(california):
    y = california["label"].to_numpy()
    X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(california, y, split="rows", random_state=0)
    shared = X_te["tweet_id"].isin(X_tr["tweet_id"]).mean()
    assert 0.03 < shared < 0.2  # the same text on both sides of a split by row
    X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(california, y, random_state=0)
    assert not set(X_te["tweet_id"]) & set(X_tr["tweet_id"])
    assert len(X_tr) + len(X_te) == len(y) and 0.08 < len(X_te) / len(y) < 0.12
    assert abs(np.mean(y_te == "informative") - np.mean(y == "informative")) < 0.03
    np.testing.assert_array_equal(y_te, california.loc[X_te.index, "label"])


def test_the_majority_rate_the_models_must_beat(california):
    y = california["label"].to_numpy()
    scores = prediction_scores(y, np.full(len(y), "informative"))
    assert scores["accuracy"] == pytest.approx(1307 / 1589)
    assert scores["balanced_accuracy"] == 0.5 and scores["one_class"]
    assert scores["macro_f1"] == pytest.approx((2 * 1307 / (1307 + 1589)) / 2)
