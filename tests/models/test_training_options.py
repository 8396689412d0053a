"""Options of MultiModalCNNClassifier for imbalanced, hard data: class weights, what early
stopping monitors, and image standardisation inside the network."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight

from skmmat import MultiModalCNNClassifier, load_model, save_model

from .test_classifier import make_frame


@pytest.fixture(scope="module")
def imbalanced():
    """160 16x16 images, 85 % of class "a"; class "b" is a little brighter (a faint signal)."""
    rng = np.random.default_rng(0)
    y = np.where(rng.random(160) < 0.85, "a", "b").astype(object)
    images = [
        (rng.random((16, 16, 3)) * 0.5 + 0.25 + 0.1 * (label == "b")).astype(np.float32)
        for label in y
    ]
    return pd.DataFrame({"image": images}), y


@pytest.fixture(scope="module")
def small(small_params):
    return {**small_params, "image_filters": (4, 8), "batch_size": 16}


def image_cnn(small, **params):
    base = {**small, "modalities": ("image",), "random_state": 0, "max_epochs": 6}
    return MultiModalCNNClassifier(**{**base, **params})


def test_balanced_class_weight_weighs_the_loss(imbalanced, small):
    X, y = imbalanced
    clf = image_cnn(small, class_weight="balanced", patience=None, max_epochs=20).fit(X, y)
    expected = compute_class_weight("balanced", classes=np.array(["a", "b"]), y=y)
    np.testing.assert_allclose(clf.net_.criterion_.weight.numpy(), expected, rtol=1e-6)
    assert expected[1] > 2 * expected[0]  # the minority counts for more
    plain = image_cnn(small, patience=None, max_epochs=20).fit(X, y)
    assert plain.net_.criterion_.weight is None
    # unweighted, the faint signal is not worth learning: the majority class for every row;
    # weighted, the minority is found
    assert (plain.predict(X) == "a").all()
    assert balanced_accuracy_score(y, clf.predict(X)) > 0.8


def test_dict_class_weight(imbalanced, small):
    X, y = imbalanced
    clf = image_cnn(small, class_weight={"b": 3.0}, patience=None, max_epochs=1).fit(X, y)
    np.testing.assert_array_equal(clf.net_.criterion_.weight.numpy(), [1.0, 3.0])
    with pytest.raises(ValueError, match="class_weight.*'c'"):
        image_cnn(small, class_weight={"c": 2.0}, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        image_cnn(small, class_weight="even").fit(X, y)


@pytest.mark.parametrize("monitor", ["valid_balanced_accuracy", "valid_macro_f1"])
def test_early_stopping_on_a_prediction_score(small, monitor):
    X, y = make_frame(n=160, seed=5, labels=["a", "b"])
    clf = MultiModalCNNClassifier(
        **{**small, "lr": 3e-4},  # slow enough that the score rises over a few epochs
        random_state=0,
        max_epochs=40,
        patience=3,
        monitor=monitor,
        validation_fraction=0.25,
    ).fit(X, y)
    scores = clf.net_.history[:, monitor]
    best = int(np.argmax(scores))  # the first best epoch, the one early stopping keeps
    assert scores[best] > scores[0]  # the score improved, then stalled
    assert clf.n_iter_ == best + 1 + 3 < 40  # patience epochs without a better score
    assert clf.net_.history[best, f"{monitor}_best"]
    # the restored weights are the best epoch's
    valid = clf.net_.get_split_datasets(clf.model_inputs(X), LabelEncoder().fit_transform(y))[1]
    rows = np.asarray(valid.indices)
    got = balanced_accuracy_score(y[rows], clf.predict(X.iloc[rows]))
    if monitor == "valid_balanced_accuracy":
        assert got == pytest.approx(scores[best])
    with pytest.raises(ValueError, match="monitor"):
        MultiModalCNNClassifier(monitor="valid_accuracy").fit(X, y)


def test_image_standardization_inside_the_network(imbalanced, small, tmp_path):
    X, y = imbalanced
    images = np.stack(list(X["image"])).astype(np.float64)
    clf = image_cnn(small, image_standardization=True, patience=None, max_epochs=2).fit(X, y)
    visual = clf.net_.module_.visual
    np.testing.assert_allclose(visual.image_mean.flatten(), images.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(visual.image_std.flatten(), images.std(axis=(0, 1, 2)), rtol=1e-4)
    plain = image_cnn(small, patience=None, max_epochs=2).fit(X, y)
    assert torch.equal(plain.net_.module_.visual.image_mean, torch.zeros(1, 3, 1, 1))
    assert torch.equal(plain.net_.module_.visual.image_std, torch.ones(1, 3, 1, 1))
    # the input stays in pixel units: the gradient is taken w.r.t. the [0, 1] image,
    # through the standardisation (a finite difference on one pixel agrees)
    Xs, ys = X.iloc[:4], y[:4]
    grad = clf.loss_gradient(Xs, ys)["image"][0, 3, 5, 1]
    h = 1e-2

    def loss(delta):
        frame = Xs.copy()
        image = np.array(frame["image"].iloc[0], dtype=np.float32)
        image[3, 5, 1] += delta
        frame.iat[0, frame.columns.get_loc("image")] = image
        proba = clf.predict_proba(frame.iloc[:1])[0]
        return -np.log(proba[list(clf.classes_).index(ys[0])])

    np.testing.assert_allclose((loss(h) - loss(-h)) / (2 * h), grad, rtol=0.05, atol=1e-5)
    # the statistics are saved with the weights
    path = save_model(clf, tmp_path / "std.safetensors")
    np.testing.assert_array_equal(load_model(path).predict_proba(X), clf.predict_proba(X))


def test_validation_groups_stay_on_one_side(small):
    X, y = make_frame(n=120, seed=6)
    X["tweet"] = np.arange(120) // 3  # three rows per tweet
    clf = MultiModalCNNClassifier(
        **small, max_epochs=2, random_state=0, validation_groups="tweet"
    ).fit(X, y)
    split = clf.net_.train_split
    valid, train = X["tweet"].iloc[split.valid_indices_], X["tweet"].iloc[split.train_indices_]
    assert not set(valid) & set(train)
    assert 0.05 < len(valid) / len(X) < 0.2  # about validation_fraction=0.1
    assert len(clf.net_.history[0, "batches"]) > 0 and "valid_loss" in clf.net_.history[0]
    by_row = MultiModalCNNClassifier(**small, max_epochs=2, random_state=0).fit(X, y)
    assert type(by_row.net_.train_split).__name__ == "ValidSplit"
    with pytest.raises(ValueError, match="'tweet'"):
        clf.fit(X.drop(columns="tweet"), y)
    few = X.assign(tweet=np.arange(120) % 3)  # three groups cannot hold out a tenth
    with pytest.raises(ValueError, match="validation groups"):
        clf.fit(few, y)


# ----------------------------------------------------------------------------
# image_augmentation
# ----------------------------------------------------------------------------
def test_image_augmentation_flips_and_shifts_training_batches_only():
    from skmmat.models import VisualCNN

    torch.manual_seed(0)
    module = VisualCNN((16, 16), filters=(4,), hidden_units=4, augment=True)
    seen = []
    module.features.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    image = torch.rand(64, 3, 16, 16)
    module.eval()
    module(image)
    torch.testing.assert_close(seen[-1], image)  # evaluation: the input as given
    module.train()
    module(image)
    augmented = seen[-1]
    assert augmented.shape == image.shape and not torch.equal(augmented, image)
    # every augmented image is a flip and/or a shift of at most 2 px of its original
    padded = torch.nn.functional.pad(image, (2, 2, 2, 2), mode="reflect")
    for i in range(len(image)):
        candidates = [
            src[:, t : t + 16, u : u + 16]
            for src in (padded[i], padded[i].flip(2))
            for t in range(5)
            for u in range(5)
        ]
        assert any(torch.equal(augmented[i], c) for c in candidates), i
    flipped = sum(
        not any(
            torch.equal(augmented[i], padded[i][:, t : t + 16, u : u + 16])
            for t in range(5)
            for u in range(5)
        )
        for i in range(len(image))
    )
    assert 16 < flipped < 48  # about half of them flipped
    module.augment = False
    module(image)
    torch.testing.assert_close(seen[-1], image)


def test_image_augmentation_is_a_seeded_training_option(imbalanced, small):
    X, y = imbalanced
    plain = image_cnn(small, patience=None).fit(X, y)
    one = image_cnn(small, patience=None, image_augmentation=True).fit(X, y)
    two = image_cnn(small, patience=None, image_augmentation=True).fit(X, y)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))  # seeded
    assert not np.allclose(one.predict_proba(X), plain.predict_proba(X))
    assert one.architecture_["image_augmentation"] and not plain.architecture_["image_augmentation"]
    # prediction does not augment: the same rows give the same probabilities
    np.testing.assert_array_equal(one.predict_proba(X), one.predict_proba(X))


# ----------------------------------------------------------------------------
# image_batch_norm
# ----------------------------------------------------------------------------
def test_image_batch_norm_follows_each_convolution_and_uses_running_stats_to_predict(
    imbalanced, small, tmp_path
):
    X, y = imbalanced
    clf = image_cnn(small, patience=None, image_batch_norm=True).fit(X, y)
    layers = list(clf.net_.module_.visual.features)
    kinds = [type(layer).__name__ for layer in layers]
    assert kinds == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"] * 2
    norm = layers[1]
    assert norm.num_batches_tracked > 0  # trained on batch statistics
    running = norm.running_mean.clone()
    first = clf.predict_proba(X)
    # prediction and the attacks' gradient use the running statistics, unchanged
    clf.loss_gradient(X, y)
    torch.testing.assert_close(norm.running_mean, running)
    # a batch of 5 rows gets the probabilities it gets among 160 (batch statistics would not)
    np.testing.assert_allclose(clf.predict_proba(X.iloc[:5]), first[:5], atol=1e-6)
    plain = image_cnn(small, patience=None).fit(X, y)
    assert "BatchNorm2d" not in [type(m).__name__ for m in plain.net_.module_.modules()]
    # saved and loaded with its running statistics
    save_model(clf, tmp_path / "bn.safetensors")
    loaded = load_model(tmp_path / "bn.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(X), first)
