"""Fixtures of the adversarial tests: the demo data, small fitted models.

Every model here is tiny (32x32 images, few filters, few epochs) and built
once per module; the tests check the exact arithmetic of the attacks and the
data flow of Algorithm 1, not accuracy.
"""

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from skmmat import GloveSequencer, ImageResizer, make_crisis_tweets


def stack(column):
    """Stack a column of per-row arrays into one float32 array."""
    return np.stack(list(column)).astype(np.float32)


def model_batch(clf, X, y, rows):
    """The model-input tensors of some rows of ``X`` and their class indices."""
    inputs = clf.model_inputs(X.iloc[rows])
    tensors = {m: torch.as_tensor(a) for m, a in inputs.items()}
    return tensors, torch.as_tensor(np.searchsorted(clf.classes_, y[rows]))


@pytest.fixture(scope="session")
def cnn_params(small_params):
    """``small_params`` as these tests train it: 3 epochs, no early stopping, seed 0."""
    return {**small_params, "patience": None, "max_epochs": 3, "random_state": 0}


@pytest.fixture(scope="session")
def small_cnn(make_small_cnn, cnn_params):
    """``small_cnn(**params)``: an unfitted classifier of ``cnn_params`` (``params`` override)."""

    def small_cnn(**params):
        return make_small_cnn(**{**cnn_params, **params})

    return small_cnn


@pytest.fixture(scope="session")
def demo():
    """160 raw demo tweets."""
    return make_crisis_tweets(160, random_state=0)


@pytest.fixture(scope="session")
def prepared(demo):
    """The demo tweets preprocessed at 32x32 (with a non-default index), and labels."""
    prep = make_pipeline(ImageResizer(size=(32, 32)), GloveSequencer())
    X = prep.fit_transform(demo[["tweet_id", "image", "text"]])
    X.index = np.arange(1000, 1000 + len(X))  # perturbers must keep any index
    return X, demo["label"].to_numpy()


@pytest.fixture(scope="module")
def mmn(prepared, small_cnn):
    """A small fitted MMN (image + text)."""
    X, y = prepared
    return small_cnn(max_epochs=6).fit(X, y)


@pytest.fixture(scope="module")
def text_cnn(prepared, small_cnn):
    """A small fitted Text-CNN."""
    X, y = prepared
    return small_cnn(modalities=("text",), max_epochs=6).fit(X, y)


@pytest.fixture(scope="module")
def visual_cnn(prepared, small_cnn):
    """A small fitted Visual-CNN."""
    X, y = prepared
    return small_cnn(modalities=("image",), max_epochs=4).fit(X, y)
