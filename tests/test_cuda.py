"""The classifier, the attacks and the wrapper on a CUDA device.

Skipped where torch sees no GPU (CI, most laptops). The word table is a
small synthetic one, so these tests need neither the bundled GloVe package
nor the CrisisMMD files and run on a bare GPU machine.
``SKMMAT_TEST_DEVICE=cpu`` runs the same tests on the CPU (a dry run of the
tests themselves).
"""

import os

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    load_model,
    make_crisis_tweets,
    save_model,
)
from skmmat.metrics import adversarial_accuracy
from skmmat.preprocessing import tokenize_tweet

DEVICE = os.environ.get("SKMMAT_TEST_DEVICE", "cuda")

pytestmark = pytest.mark.skipif(
    DEVICE == "cuda" and not torch.cuda.is_available(), reason="no CUDA device"
)


@pytest.fixture(scope="session")
def small(small_params):
    """``small_params`` for 15 epochs, without early stopping, seeded."""
    return {**small_params, "max_epochs": 15, "patience": None, "random_state": 0}


@pytest.fixture(scope="module")
def table():
    """word -> vector for every word of the demo texts (and a few spare words)."""
    df = make_crisis_tweets(600, random_state=0)
    words = sorted({w for text in df["text"] for w in tokenize_tweet(text)})
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(words) + 50, 20)).astype(np.float32)
    names = words + [f"spare{i}" for i in range(50)]
    return dict(zip(names, vectors, strict=True))


@pytest.fixture(scope="module")
def data(table):
    df = make_crisis_tweets(600, random_state=0)
    prep = make_pipeline(ImageResizer(size=(32, 32)), GloveSequencer(vectors=table))
    X = prep.fit_transform(df[["image", "text"]])
    y = df["label"].to_numpy()
    return X.iloc[:450], y[:450], X.iloc[450:], y[450:]


@pytest.fixture(scope="module")
def fitted(data, small):
    X, y, _, _ = data
    return MultiModalCNNClassifier(device=DEVICE, **small).fit(X, y)


def test_fit_trains_on_the_gpu_and_learns(fitted, data):
    X, y, X_te, _ = data
    params = list(fitted.net_.module_.parameters())
    assert params and all(p.device.type == DEVICE for p in params)
    proba = fitted.predict_proba(X_te)
    assert isinstance(proba, np.ndarray) and proba.shape == (len(X_te), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # it fits its training rows (62% are informative; random word vectors
    # generalise little, so held-out accuracy is no test of the device)
    assert fitted.score(X, y) > 0.8


def test_gpu_and_cpu_fits_agree_in_quality(fitted, data, small):
    X, y, X_te, y_te = data
    cpu = MultiModalCNNClassifier(device="cpu", **small).fit(X, y)
    assert abs(fitted.score(X, y) - cpu.score(X, y)) <= 0.1
    assert abs(fitted.score(X_te, y_te) - cpu.score(X_te, y_te)) <= 0.1


def test_loss_gradient_on_the_gpu_matches_the_cpu(fitted, data, tmp_path):
    X, y, _, _ = data
    grads = fitted.loss_gradient(X.iloc[:64], y[:64])
    assert set(grads) == {"image", "text"}
    assert grads["image"].shape == (64, 32, 32, 3) and grads["image"].dtype == np.float32
    assert grads["text"].shape == (64, *np.stack(X["text"].iloc[:2]).shape[1:])
    # the same fitted weights evaluated on the CPU give the same gradient
    cpu = load_model(save_model(fitted, tmp_path / "m.skmmat"), device="cpu")
    ref = cpu.loss_gradient(X.iloc[:64], y[:64])
    for m in ("image", "text"):
        scale = np.abs(ref[m]).max()
        np.testing.assert_allclose(grads[m], ref[m], atol=1e-3 * scale)


def test_fgsm_and_word_substitution_attack_the_gpu_model(fitted, data, table):
    X_te, y_te = data[0].iloc[:150], data[1][:150]  # rows the model fits
    image_p = FGSMPerturber(eps=0.1)
    text_p = WordSubstitutionPerturber(vectors=table, eps=0.1, threshold=0.5)
    X_adv = FGSMPerturber(fitted, eps=0.1).fit(X_te).craft(X_te, y_te)
    # Equation 1 with the gradient the GPU model gives
    x = np.stack(X_te["image"])
    grad = fitted.loss_gradient(X_te, y_te)["image"]
    expected = np.clip(x + 0.1 * np.sign(grad), 0.0, 1.0)
    np.testing.assert_allclose(np.stack(X_adv["image"]), expected, atol=1e-6)
    assert (grad != 0).any()
    clean = np.mean(fitted.predict(X_te) == y_te)
    attacked = adversarial_accuracy(
        fitted, X_te, y_te, image_perturber=image_p, text_perturber=text_p
    )
    assert attacked < clean - 0.1


def test_wrapper_trains_on_the_gpu(data, table, small):
    X, y, X_te, y_te = data
    wrapper = AdversarialAugmentationWrapper(
        MultiModalCNNClassifier(device=DEVICE, **small),
        text_perturber=WordSubstitutionPerturber(vectors=table, eps=0.1, threshold=0.5),
        random_state=0,
    ).fit(X, y)
    assert next(wrapper.estimator_.net_.module_.parameters()).device.type == DEVICE
    assert wrapper.rounds_[0]["n_samples"] == 2 * len(X)
    assert wrapper.score(X, y) > 0.75


def test_saved_gpu_model_loads_on_the_cpu(fitted, data, tmp_path):
    _, _, X_te, _ = data
    path = save_model(fitted, tmp_path / "gpu.skmmat")
    on_cpu = load_model(path, device="cpu")
    assert next(on_cpu.net_.module_.parameters()).device.type == "cpu"
    # the same weights; CUDA's convolutions (TF32 on Ampere and newer) round
    # differently from the CPU's: 1.4e-5 apart at most on an H100
    np.testing.assert_allclose(on_cpu.predict_proba(X_te), fitted.predict_proba(X_te), atol=1e-4)
    on_gpu = load_model(path)
    assert next(on_gpu.net_.module_.parameters()).device.type == DEVICE
    np.testing.assert_array_equal(on_gpu.predict(X_te), fitted.predict(X_te))
