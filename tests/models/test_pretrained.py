"""The pretrained image encoder: its weights, its features, and the classifier around it."""

import importlib.util
import os

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from skmmat import ImageResizer, MultiModalCNNClassifier, load_crisismmd, load_model, save_model
from skmmat.models import _pretrained
from skmmat.models._encoder import IMAGENET_MEAN, IMAGENET_STD, EncoderBranch
from skmmat.models._pretrained import pretrained_encoder, pretrained_state

ENCODER = "efficientnet_lite0"


# ----------------------------------------------------------------------
# the weights
# ----------------------------------------------------------------------
def test_every_imagenet_tensor_loads_strictly():
    state = pretrained_state(ENCODER)
    assert len(state) == 296
    # weights and batch-norm statistics
    assert sum(t.numel() for k, t in state.items() if "num_batches" not in k) == 4_694_024
    full = _pretrained.PRETRAINED_ENCODERS[ENCODER][3](include_top=True)
    missing, unexpected = full.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    encoder = pretrained_encoder(ENCODER)
    assert encoder._fc is None  # the ImageNet classifier is dropped after the strict load
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, state[key])


def test_missing_extra_names_it(monkeypatch):
    real = importlib.util.find_spec
    package = _pretrained.PRETRAINED_ENCODERS[ENCODER][0]
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a)
    )
    monkeypatch.setattr(_pretrained, "_VERIFIED", {})
    with pytest.raises(ImportError, match=r"skmmat\[pretrained\]"):
        pretrained_encoder(ENCODER)
    with pytest.raises(ImportError, match=r"skmmat\[pretrained\]"):
        MultiModalCNNClassifier(modalities=("image",), image_encoder=ENCODER).fit(
            *_frame(8, size=32)
        )
    # fresh weights need no package (a saved model's weights replace them)
    assert pretrained_encoder(ENCODER, weights=False).out_features == 1280


def test_damaged_weight_file_is_refused(tmp_path, monkeypatch):
    damaged = tmp_path / "weights.pth"
    data = bytearray(_pretrained.weights_path(ENCODER).read_bytes())
    data[-100] ^= 1
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(_pretrained, "weights_path", lambda name: damaged)
    monkeypatch.setattr(_pretrained, "_VERIFIED", {})
    with pytest.raises(ValueError, match="sha256"):
        pretrained_state(ENCODER)


# ----------------------------------------------------------------------
# the features, against an independent functional computation
# ----------------------------------------------------------------------
#: blocks of EfficientNet-Lite0 that halve the resolution
_STRIDE_2 = {1, 3, 5, 11}


def _reference_features(state, images):
    """EfficientNet-Lite0's pooled features with torch.nn.functional over the state dict.

    Written for even sides (224 px): TensorFlow's "same" padding is then k // 2 on
    both sides at stride 1, and one pixel less on the top and left at stride 2.
    """

    def conv(x, name, stride=1, groups=1):
        w = state[f"{name}.weight"]
        k = w.shape[-1]
        before = k // 2 - 1 if stride == 2 else k // 2
        x = F.pad(x, (before, k // 2, before, k // 2))
        return F.conv2d(x, w, stride=stride, groups=groups)

    def bn(x, name):
        return F.batch_norm(
            x,
            state[f"{name}.running_mean"],
            state[f"{name}.running_var"],
            state[f"{name}.weight"],
            state[f"{name}.bias"],
            training=False,
            eps=1e-3,
        )

    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = (images - mean) / std
    x = F.relu6(bn(conv(x, "_conv_stem", stride=2), "_bn0"))
    for i in range(16):
        b = f"_blocks.{i}"
        stride = 2 if i in _STRIDE_2 else 1
        z = x
        if f"{b}._expand_conv.weight" in state:
            z = F.relu6(bn(conv(z, f"{b}._expand_conv"), f"{b}._bn0"))
        z = F.relu6(bn(conv(z, f"{b}._depthwise_conv", stride, z.shape[1]), f"{b}._bn1"))
        z = bn(conv(z, f"{b}._project_conv"), f"{b}._bn2")
        x = z + x if stride == 1 and z.shape == x.shape else z
    x = F.relu6(bn(conv(x, "_conv_head"), "_bn1"))
    return x.mean(dim=(2, 3))


@pytest.fixture(scope="module")
def real_images(crisismmd_root):
    df = load_crisismmd(crisismmd_root, events=["california_wildfires"])
    paths = df["image"].iloc[[0, 500, 1000]]
    if not all(os.path.isfile(p) for p in paths):
        pytest.skip("the California wildfires images are absent")
    resized = ImageResizer(size=(224, 224)).fit_transform(pd.DataFrame({"image": paths}))
    return torch.tensor(np.stack(resized["image"])).permute(0, 3, 1, 2).contiguous()


def test_features_of_real_images_match_a_functional_reference(real_images):
    branch = EncoderBranch(ENCODER, (224, 224)).eval()
    with torch.no_grad():
        ours = branch(real_images)
        reference = _reference_features(pretrained_state(ENCODER), real_images)
        state = pretrained_state(ENCODER)
        logits = F.linear(ours, state["_fc.weight"], state["_fc.bias"])
    assert ours.shape == (3, 1280)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4)
    # ImageNet's classifier on these features is confident about real photos: the weights,
    # the padding and the standardisation are right together
    assert torch.softmax(logits, dim=1).max(dim=1).values.min() > 0.15


# ----------------------------------------------------------------------
# the classifier
# ----------------------------------------------------------------------
def _frame(n, size=32, seed=0):
    """Images whose brightness carries the label, and random texts."""
    rng = np.random.default_rng(seed)
    y = np.array(["informative", "not_informative"] * (n // 2))
    images = [
        (rng.random((size, size, 3)) * 0.4 + 0.5 * (label == "informative")).astype(np.float32)
        for label in y
    ]
    texts = [rng.normal(size=(6, 8)).astype(np.float32) for _ in y]
    return pd.DataFrame({"image": images, "text": texts}), y


@pytest.fixture(scope="module")
def data():
    return _frame(64)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    params = {"hidden_units": 16, "text_filters": 8, "max_epochs": 10, "patience": None, "lr": 1e-2}
    return MultiModalCNNClassifier(image_encoder=ENCODER, random_state=0, **params).fit(X, y)


class _CountingFrozen:
    """Counts the images that go through the encoder's frozen prefix."""

    def __init__(self, monkeypatch):
        self.n = 0
        original = EncoderBranch.frozen

        def frozen(branch, image):
            self.n += len(image)
            return original(branch, image)

        monkeypatch.setattr(EncoderBranch, "frozen", frozen)


def test_frozen_encoder_is_computed_once_per_fit_and_never_trained(data, monkeypatch):
    X, y = data
    counter = _CountingFrozen(monkeypatch)
    clf = MultiModalCNNClassifier(
        image_encoder=ENCODER,
        hidden_units=16,
        lr=1e-2,
        max_epochs=5,
        patience=None,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ == 5
    assert counter.n == len(X)  # once, not once per epoch
    state = pretrained_state(ENCODER)
    for key, value in clf.net_.module_.visual.encoder.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert clf.score(X, y) > 0.85  # the head learns what the features carry (chance: 0.5)


def test_frozen_route_gives_the_logits_of_the_whole_network(fitted, data):
    X, _ = data
    module = fitted.net_.module_.eval()
    inputs = {k: torch.as_tensor(v[:8]) for k, v in fitted.model_inputs(X).items()}
    with torch.no_grad():
        whole = module(**inputs)
        frozen = module(image_frozen=module.visual.frozen(inputs["image"]), text=inputs["text"])
    torch.testing.assert_close(whole, frozen, rtol=0, atol=1e-6)


def test_prediction_encodes_each_distinct_image_once(fitted, data, monkeypatch):
    X, _ = data
    # eight variants of one tweet (a query-only text attack asks for such batches)
    variants = pd.concat([X.iloc[[3]]] * 8, ignore_index=True)
    variants["text"] = list(X["text"].iloc[:8])
    counter = _CountingFrozen(monkeypatch)
    proba = fitted.predict_proba(variants)
    assert counter.n == 1
    module = fitted.net_.module_.eval()
    inputs = {k: torch.as_tensor(v) for k, v in fitted.model_inputs(variants).items()}
    with torch.no_grad():
        whole = torch.softmax(module(**inputs), dim=1).numpy()
    np.testing.assert_allclose(proba, whole, rtol=0, atol=1e-6)


def test_feature_cache_is_shared_across_fits(data, tmp_path, monkeypatch):
    X, y = data
    cache = tmp_path / "features"
    params = {"image_encoder": ENCODER, "max_epochs": 2, "patience": None, "feature_cache": cache}
    first = MultiModalCNNClassifier(modalities=("image",), random_state=0, **params).fit(X, y)
    assert len(list(cache.rglob("*.npy"))) == len(X)
    counter = _CountingFrozen(monkeypatch)
    second = MultiModalCNNClassifier(modalities=("image",), random_state=0, **params).fit(X, y)
    assert counter.n == 0  # every image came from the cache
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    # other rows: only the new images are encoded
    counter.n = 0
    X2, y2 = _frame(16, seed=1)
    MultiModalCNNClassifier(modalities=("image",), **params).fit(pd.concat([X, X2]), [*y, *y2])
    assert counter.n == 16


def test_fine_tuning_trains_the_last_blocks_at_their_own_rate(data, monkeypatch):
    X, y = data
    counter = _CountingFrozen(monkeypatch)
    clf = MultiModalCNNClassifier(
        modalities=("image",),
        image_encoder=ENCODER,
        fine_tune=2,
        encoder_lr=5e-4,
        max_epochs=2,
        patience=None,
        random_state=0,
    ).fit(X, y)
    assert counter.n == len(X)  # the frozen prefix, once
    state = pretrained_state(ENCODER)
    trained = {
        k
        for k, v in clf.net_.module_.visual.encoder.state_dict().items()
        if not torch.equal(v, state[k])
    }
    assert trained, "the fine-tuned blocks did not train"
    owners = {
        ".".join(k.split(".")[:2]) if k.startswith("_blocks") else k.split(".")[0] for k in trained
    }
    assert owners <= {"_blocks.14", "_blocks.15", "_conv_head", "_bn1"}
    groups = clf.net_.optimizer_.param_groups
    assert [g["lr"] for g in groups] == [5e-4, clf.lr]


def test_whole_encoder_fine_tuned_uses_the_images_every_epoch(data, monkeypatch):
    X, y = data
    counter = _CountingFrozen(monkeypatch)
    clf = MultiModalCNNClassifier(
        modalities=("image",),
        image_encoder=ENCODER,
        fine_tune="all",
        max_epochs=2,
        patience=None,
        random_state=0,
    ).fit(X, y)
    assert counter.n >= 2 * len(X)
    stem = clf.net_.module_.visual.encoder._conv_stem.weight
    assert not torch.equal(stem, pretrained_state(ENCODER)["_conv_stem.weight"])


def test_loss_gradient_reaches_the_pixels_and_fgsm_hurts(fitted, data):
    from skmmat import FGSMPerturber

    X, y = data
    grads = fitted.loss_gradient(X, y)
    assert grads["image"].shape == (len(X), 32, 32, 3)
    assert np.abs(grads["image"]).sum(axis=(1, 2, 3)).min() > 0
    clean = fitted.score(X, y)
    attacked = FGSMPerturber(fitted, eps=0.1, n_iter=10).fit(X).transform(X)
    assert fitted.score(attacked, y) < clean - 0.3


def test_save_and_load_without_the_package(fitted, data, tmp_path, monkeypatch):
    X, _ = data
    path = tmp_path / "model.safetensors"
    save_model(fitted, path)
    monkeypatch.setattr(_pretrained, "weights_path", _raise_import)
    monkeypatch.setattr(_pretrained, "_VERIFIED", {})
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.get_params()["image_encoder"] == ENCODER


def _raise_import(name):
    raise ImportError("the package is absent")


class _TinyEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3)

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def test_an_encoder_of_ones_own(data, tmp_path):
    X, y = data
    mine = _TinyEncoder()
    before = {k: v.clone() for k, v in mine.state_dict().items()}
    clf = MultiModalCNNClassifier(
        modalities=("image",),
        image_encoder=mine,
        fine_tune="all",
        lr=1e-2,
        max_epochs=20,
        patience=None,
        random_state=0,
    ).fit(X, y)
    assert clf.score(X, y) > 0.9
    for key, value in mine.state_dict().items():  # the user's module is copied, not trained
        assert torch.equal(value, before[key])
    with pytest.raises(ValueError, match="torch module of your own"):
        save_model(clf, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="'fine_tune'.*of your own"):
        MultiModalCNNClassifier(modalities=("image",), image_encoder=mine, fine_tune=2).fit(X, y)


def test_bad_input_and_parameters_get_clear_errors(data):
    X, y = data
    small = X.assign(image=[np.zeros((16, 16, 3), np.float32)] * len(X))
    with pytest.raises(ValueError, match=r"column 'image'.*efficientnet_lite0.*at least 32"):
        MultiModalCNNClassifier(image_encoder=ENCODER).fit(small, y)
    grey = X.assign(image=[np.zeros((32, 32, 1), np.float32)] * len(X))
    with pytest.raises(ValueError, match="'image'"):
        MultiModalCNNClassifier(image_encoder=ENCODER).fit(grey, y)
    with pytest.raises(ValueError, match="'image_standardization'.*visual_cnn"):
        MultiModalCNNClassifier(image_encoder=ENCODER, image_standardization=True).fit(X, y)
    with pytest.raises(ValueError, match="'fine_tune'.*1 to 16"):
        MultiModalCNNClassifier(image_encoder=ENCODER, fine_tune=17).fit(X, y)

    class Broken(torch.nn.Module):
        def forward(self, x):
            return x.reshape(len(x), 3, -1)  # not (n, features)

    with pytest.raises(ValueError, match=r"\(n, n_features\)"):
        MultiModalCNNClassifier(modalities=("image",), image_encoder=Broken()).fit(X, y)


def test_certificates_go_through_the_encoder(fitted, data):
    """The interval bounds follow the encoder's own forward pass: no refusal, sound results.

    At a point the bounds are the margins; over a ball, 18 units of a network trained
    without bounds widen the box past any margin, and nothing is certified.
    """
    from skmmat import FGSMPerturber
    from skmmat.metrics import certify

    X, y = data
    point, margins = certify(
        fitted, X, y, image_perturber=FGSMPerturber(eps=0.0), text_perturber=None
    )
    proba = fitted.predict_proba(X)
    exact = np.abs(np.log(proba[:, 0]) - np.log(proba[:, 1]))  # the logits' margin
    right = fitted.predict(X) == np.asarray(y)
    assert (point == right).all()
    np.testing.assert_allclose(margins[right], exact[right], atol=1e-3)  # less the allowance
    ball, _ = certify(fitted, X, y, image_perturber=FGSMPerturber(eps=1e-3), text_perturber=None)
    assert not (ball & ~right).any() and ball.sum() <= point.sum()


@pytest.mark.parametrize("method", ["algorithm1", "in_loop"])
def test_adversarial_training_over_the_encoder(data, method, monkeypatch):
    """Algorithm 1 trains on cached features of both halves; in-loop attacks every batch."""
    from skmmat import AdversarialAugmentationWrapper, FGSMPerturber

    X, y = data
    X = X[["image"]]
    counter = _CountingFrozen(monkeypatch)
    clf = MultiModalCNNClassifier(
        modalities=("image",),
        image_encoder=ENCODER,
        hidden_units=16,
        lr=1e-2,
        max_epochs=3,
        patience=None,
        random_state=0,
    )
    wrapper = AdversarialAugmentationWrapper(
        clf, image_perturber=FGSMPerturber(eps=0.05), method=method, random_state=0
    ).fit(X, y)
    if method == "algorithm1":
        # fit: n images; crafting: n gradients; refit on 2n rows: 2n images, never per epoch
        assert counter.n == len(X) + len(X) + 2 * len(X)
    else:
        # every step runs the encoder on its clean and its adversarial batch, every epoch
        assert counter.n >= 3 * 2 * len(X)
    state = pretrained_state(ENCODER)
    encoder = wrapper.estimator_.net_.module_.visual.encoder
    assert all(torch.equal(v, state[k]) for k, v in encoder.state_dict().items())
    assert wrapper.score(X, y) > 0.8
