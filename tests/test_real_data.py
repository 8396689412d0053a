"""Real CrisisMMD: the California wildfires images and annotations, where present.

A fixed subset of 64 image-tweet pairs (the first 60 rows and 4 of the PNG
files stored under a ``.jpg`` name, as in the original release) covers the
image decoding, a multi-modal fit, predict and joint attack, and the split by
tweet. Skipped when the shared CrisisMMD copy or its images are absent.
"""

import os

import numpy as np
import pytest
from PIL import Image
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from skmmat import GloveSequencer, ImageResizer, MultiModalCNNClassifier, load_crisismmd
from skmmat.adversarial import craft_adversarial
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
    out = ImageResizer(size=(64, 64)).fit_transform(subset)
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


def test_mmn_fits_predicts_and_is_attacked_on_real_rows(subset):
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


def test_pairs_of_one_tweet_straddle_a_row_split_but_not_a_grouped_one(california):
    y, tweets = california["label"].to_numpy(), california["tweet_id"].to_numpy()
    train, test = train_test_split(np.arange(len(y)), test_size=0.1, stratify=y, random_state=0)
    shared = np.isin(tweets[test], tweets[train]).mean()
    assert 0.03 < shared < 0.2  # the same text on both sides of a split by row
    folds = StratifiedGroupKFold(10, shuffle=True, random_state=0)
    train, test = next(folds.split(california, y, groups=tweets))
    assert not set(tweets[test]) & set(tweets[train])
    assert 0.08 < len(test) / len(y) < 0.12
    assert abs(np.mean(y[test] == "informative") - np.mean(y == "informative")) < 0.03


def test_the_majority_rate_the_models_must_beat(california):
    y = california["label"].to_numpy()
    scores = prediction_scores(y, np.full(len(y), "informative"))
    assert scores["accuracy"] == pytest.approx(1307 / 1589)
    assert scores["balanced_accuracy"] == 0.5 and scores["one_class"]
    assert scores["macro_f1"] == pytest.approx((2 * 1307 / (1307 + 1589)) / 2)
