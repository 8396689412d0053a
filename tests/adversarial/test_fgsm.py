"""Tests of FGSMPerturber: the paper's Equation (1) on images, and its PGD variant."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from skmmat import FGSMPerturber

from .conftest import stack


def fgsm_expected(clf, X, y, eps, clip=(0.0, 1.0)):
    """Equation (1) computed here: clip(x + eps * sign(grad_x J(theta, x, y)))."""
    grad = clf.loss_gradient(X, y)["image"]
    x = stack(X["image"]) + np.float32(eps) * np.sign(grad)
    return x if clip is None else np.clip(x, *clip)


def row_differs(a, b):
    return (a != b).reshape(len(a), -1).any(axis=1)


# ----------------------------------------------------------------------
# Equation (1)
# ----------------------------------------------------------------------
@pytest.mark.parametrize("eps", [0.1, 0.5])
def test_fit_transform_is_equation_1(mmn, prepared, eps):
    X, y = prepared
    out = FGSMPerturber(mmn, eps=eps).fit(X).craft(X, y)
    got = stack(out["image"])
    expected = fgsm_expected(mmn, X, y, eps)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert out["image"].iloc[0].dtype == np.float32
    x0 = stack(X["image"])
    unclipped = x0 + eps * np.sign(mmn.loss_gradient(X, y)["image"])
    if eps == 0.5:  # the clipping to [0, 1] matters at this size
        assert (unclipped > 1).any() and (unclipped < 0).any()
    assert np.abs(got - x0).max() <= eps + 1e-6
    assert (got != x0).mean() > 0.5
    assert got.min() >= 0.0 and got.max() <= 1.0


def test_clip_none_leaves_values_unclipped(mmn, prepared):
    X, y = prepared
    got = stack(FGSMPerturber(mmn, eps=0.2, clip=None).fit(X).craft(X, y)["image"])
    np.testing.assert_allclose(got, fgsm_expected(mmn, X, y, 0.2, clip=None), rtol=0, atol=1e-6)
    assert got.max() > 1.0 and got.min() < 0.0


def test_custom_clip_range(mmn, prepared):
    X, y = prepared
    got = stack(FGSMPerturber(mmn, eps=0.2, clip=(0.2, 0.8)).fit(X).craft(X, y)["image"])
    np.testing.assert_allclose(
        got, fgsm_expected(mmn, X, y, 0.2, clip=(0.2, 0.8)), rtol=0, atol=1e-6
    )
    assert got.min() >= 0.2 and got.max() <= 0.8


def test_transform_uses_predictions_not_labels(mmn, prepared):
    X, y = prepared
    perturber = FGSMPerturber(mmn).fit(X)
    pred = mmn.predict(X)
    wrong = pred != y
    assert wrong.any() and not wrong.all()  # the fixture model is imperfect on purpose
    unlabelled = stack(perturber.transform(X)["image"])
    np.testing.assert_array_equal(unlabelled, stack(perturber.craft(X, pred)["image"]))
    np.testing.assert_allclose(unlabelled, fgsm_expected(mmn, X, pred, 0.1), rtol=0, atol=1e-6)
    with_labels = stack(perturber.fit(X).craft(X, y)["image"])
    differs = row_differs(unlabelled, with_labels)
    assert differs[wrong].all()  # the loss is taken against another label there
    assert not differs[~wrong].any()


def test_fit_transform_without_labels_uses_predictions(mmn, prepared):
    X, _ = prepared
    out = stack(FGSMPerturber(mmn).fit_transform(X)["image"])
    np.testing.assert_allclose(out, fgsm_expected(mmn, X, mmn.predict(X), 0.1), atol=1e-6)


def test_gradient_passed_in_is_used(mmn, prepared):
    X, y = prepared
    perturber = FGSMPerturber(mmn, eps=0.05).fit(X)
    fake = {"image": -np.ones((len(X), 32, 32, 3), np.float32)}
    got = stack(perturber.craft(X, y, gradient=fake)["image"])
    np.testing.assert_allclose(got, np.clip(stack(X["image"]) - np.float32(0.05), 0, 1), atol=1e-7)
    with pytest.raises(ValueError, match="rows"):
        perturber.craft(X, y, gradient={"image": fake["image"][:3]})


# ----------------------------------------------------------------------
# the estimator is used as given
# ----------------------------------------------------------------------
def test_estimator_is_never_refitted(mmn, prepared, monkeypatch):
    X, y = prepared
    weights = copy.deepcopy(mmn.net_.module_.state_dict())
    grads = [None if p.grad is None else p.grad.clone() for p in mmn.net_.module_.parameters()]
    proba = mmn.predict_proba(X)
    n_epochs = len(mmn.net_.history)

    def no_fit(*args, **kwargs):
        raise AssertionError("the perturber refitted the estimator")

    monkeypatch.setattr(mmn, "fit", no_fit)
    monkeypatch.setattr(mmn, "partial_fit", no_fit, raising=False)
    for perturber in (
        FGSMPerturber(mmn),
        FGSMPerturber(mmn, n_iter=3, random_start=True, random_state=0),
    ):
        perturber.fit(X).craft(X, y)
        perturber.transform(X)
        assert perturber.estimator_ is mmn
        assert perturber.estimator is mmn
    after = mmn.net_.module_.state_dict()
    assert all(torch.equal(weights[k], after[k]) for k in weights)
    for before, p in zip(grads, mmn.net_.module_.parameters()):
        assert (p.grad is None) if before is None else torch.equal(before, p.grad)
    np.testing.assert_array_equal(mmn.predict_proba(X), proba)
    assert len(mmn.net_.history) == n_epochs


def test_clone_does_not_fit_and_keeps_params(mmn):
    perturber = FGSMPerturber(mmn, eps=0.2, n_iter=4, step_size=0.05, random_state=3)
    cloned = clone(perturber)
    params = cloned.get_params(deep=False)
    assert params["eps"] == 0.2 and params["n_iter"] == 4 and params["step_size"] == 0.05
    assert not hasattr(cloned, "estimator_")


# ----------------------------------------------------------------------
# iterative variant (PGD)
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def brightness(small_cnn):
    """An image-only task (dark vs light noise) and a Visual-CNN that learnt it.

    The demo images shrunk to 32x32 carry too little signal for a tiny
    network; here the images decide the prediction, so attacks on them show.
    """
    rng = np.random.default_rng(0)
    y = np.array(["dark", "light"])[np.arange(120) % 2]
    level = np.where(y == "light", 0.65, 0.35)
    images = [
        np.clip(rng.random((16, 16, 3)) * 0.4 + lv - 0.2, 0, 1).astype(np.float32) for lv in level
    ]
    X = pd.DataFrame({"image": images})
    clf = small_cnn(modalities=("image",), max_epochs=20).fit(X, y)
    assert clf.score(X, y) > 0.95
    return clf, X, y


@pytest.mark.parametrize("random_start", [False, True])
def test_iterative_stays_in_ball_and_is_at_least_as_strong(brightness, random_start):
    clf, X, y = brightness
    eps = 0.2
    x0 = stack(X["image"])
    pgd = FGSMPerturber(clf, eps=eps, n_iter=5, random_start=random_start, random_state=0)
    assert not pgd.single_step
    x_pgd = pgd.fit(X).craft(X, y)
    got = stack(x_pgd["image"])
    assert np.abs(got - x0).max() <= eps + 1e-6
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert (got != x0).mean() > 0.5
    x_fgsm = FGSMPerturber(clf, eps=eps).fit(X).craft(X, y)
    acc_pgd = np.mean(clf.predict(x_pgd) == y)
    acc_fgsm = np.mean(clf.predict(x_fgsm) == y)
    assert acc_fgsm < 1.0  # the attacks bite, and FGSM leaves room below it
    assert acc_pgd <= acc_fgsm + 0.02
    assert acc_pgd < 0.9


def test_iterative_without_labels_attacks_the_clean_predictions(brightness):
    clf, X, _ = brightness
    pred = clf.predict(X)
    a = FGSMPerturber(clf, eps=0.1, n_iter=3).fit(X).transform(X)
    b = FGSMPerturber(clf, eps=0.1, n_iter=3).fit(X).craft(X, pred)
    np.testing.assert_array_equal(stack(a["image"]), stack(b["image"]))


def test_iterative_random_start_is_seeded(mmn, prepared):
    X, y = prepared
    a = stack(
        FGSMPerturber(mmn, n_iter=2, random_start=True, random_state=0).fit(X).craft(X, y)["image"]
    )
    b = stack(
        FGSMPerturber(mmn, n_iter=2, random_start=True, random_state=0).fit(X).craft(X, y)["image"]
    )
    c = stack(
        FGSMPerturber(mmn, n_iter=2, random_start=True, random_state=1).fit(X).craft(X, y)["image"]
    )
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_iterative_step_size_and_single_step_property(mmn, prepared):
    X, y = prepared
    assert FGSMPerturber().single_step
    assert not FGSMPerturber(random_start=True).single_step
    # one projected step of size eps from the clean point is FGSM itself
    one = FGSMPerturber(mmn, eps=0.1, n_iter=1, step_size=0.1)
    np.testing.assert_allclose(
        stack(one.fit(X).craft(X, y)["image"]), fgsm_expected(mmn, X, y, 0.1), atol=1e-6
    )
    # a huge step is projected back onto the eps-ball
    big = FGSMPerturber(mmn, eps=0.05, n_iter=2, step_size=1.0).fit(X).craft(X, y)
    assert np.abs(stack(big["image"]) - stack(X["image"])).max() <= 0.05 + 1e-6


# ----------------------------------------------------------------------
# PGD with random restarts
# ----------------------------------------------------------------------
def _target_stats(clf, X_adv, y):
    """Per row: the probability of the true class, and whether the model is wrong."""
    proba = clf.predict_proba(X_adv)
    target = np.searchsorted(clf.classes_, y)
    return proba[np.arange(len(y)), target], proba.argmax(axis=1) != target


@pytest.mark.parametrize("clip", [(0.0, 1.0), (0.2, 0.7)])
def test_restarts_stay_in_the_ball_and_the_clip(mmn, prepared, clip):
    X, y = prepared
    eps = 0.05
    x0 = stack(X["image"])
    pgd = FGSMPerturber(
        mmn, eps=eps, n_iter=3, random_start=True, n_restarts=3, clip=clip, random_state=0
    )
    got = stack(pgd.fit(X).craft(X, y)["image"])
    # projected onto the ball, then clipped: within eps of the clipped clean image
    # (the clean image itself for the default range, which holds every pixel)
    assert np.abs(got - np.clip(x0, *clip)).max() <= eps + 1e-6
    assert got.min() >= clip[0] and got.max() <= clip[1]
    assert (got != np.clip(x0, *clip)).mean() > 0.5
    assert got.dtype == np.float32


def test_restarts_are_at_least_as_strong_as_their_first_start(mmn, prepared):
    """The first start is the single-start attack of the seed; each row keeps its best."""
    X, y = prepared
    params = {"eps": 0.03, "n_iter": 2, "random_start": True, "random_state": 0}
    one = FGSMPerturber(mmn, **params).fit(X).craft(X, y)
    four = FGSMPerturber(mmn, n_restarts=4, **params).fit(X).craft(X, y)
    p1, wrong1 = _target_stats(mmn, one, y)
    p4, wrong4 = _target_stats(mmn, four, y)
    # misclassified first, then the higher loss (the lower true-class probability)
    assert np.all((wrong4 & ~wrong1) | ((wrong4 == wrong1) & (p4 <= p1)))
    assert wrong4.sum() >= wrong1.sum()
    assert (p4 < p1).any()  # the other starts found something on some rows


def test_restarts_are_seeded_and_one_restart_is_plain_pgd(mmn, prepared):
    X, y = prepared
    params = {"eps": 0.05, "n_iter": 2, "random_start": True}

    def craft(**more):
        return stack(FGSMPerturber(mmn, **params, **more).fit(X).craft(X, y)["image"])

    a = craft(n_restarts=3, random_state=0)
    np.testing.assert_array_equal(a, craft(n_restarts=3, random_state=0))
    assert (a != craft(n_restarts=3, random_state=1)).any()
    np.testing.assert_array_equal(craft(n_restarts=1, random_state=2), craft(random_state=2))
    rng = np.random.RandomState(5)  # a RandomState instance advances from call to call
    perturber = FGSMPerturber(mmn, n_restarts=2, random_state=rng, **params).fit(X)
    assert (stack(perturber.craft(X, y)["image"]) != stack(perturber.craft(X, y)["image"])).any()


def test_restarts_predict_once_per_start(mmn, prepared, monkeypatch):
    X, y = prepared
    calls = []
    original = type(mmn).predict_proba

    def recording(self, X_):
        calls.append(len(X_))
        return original(self, X_)

    monkeypatch.setattr(type(mmn), "predict_proba", recording)
    FGSMPerturber(mmn, n_iter=2, random_start=True, n_restarts=3).fit(X).craft(X, y)
    assert calls == [len(X)] * 3


# ----------------------------------------------------------------------
# frames
# ----------------------------------------------------------------------
def test_input_not_mutated_and_other_columns_pass_through(mmn, prepared):
    X, y = prepared
    X = X.assign(event="flood", extra=np.arange(len(X)))
    before = X.copy()
    images = [a.copy() for a in X["image"]]
    out = FGSMPerturber(mmn).fit(X).craft(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(images, X["image"]))
    assert list(X.columns) == list(before.columns)
    assert list(out.columns) == list(X.columns)
    assert out.index.equals(X.index)
    for column in ("tweet_id", "tokens", "event", "extra"):
        assert out[column].tolist() == X[column].tolist()
    assert all(np.array_equal(a, b) for a, b in zip(out["text"], X["text"]))
    assert out["image"].iloc[0] is not X["image"].iloc[0]


def test_eps_zero_returns_the_input(mmn, prepared):
    X, y = prepared
    out = FGSMPerturber(mmn, eps=0).fit(X).craft(X, y)
    np.testing.assert_array_equal(stack(out["image"]), stack(X["image"]))
    out = FGSMPerturber(mmn, eps=0.0, n_iter=3).fit(X).craft(X, y)
    np.testing.assert_array_equal(stack(out["image"]), stack(X["image"]))


def test_only_the_model_input_is_perturbed(mmn, prepared):
    """The attacked column is the one the model reads and is differentiated at."""
    X, y = prepared
    Xc = X.assign(picture=X["image"])
    out = FGSMPerturber(mmn).fit(Xc).craft(Xc, y)
    np.testing.assert_allclose(stack(out["image"]), fgsm_expected(mmn, X, y, 0.1), atol=1e-6)
    assert all(a is b for a, b in zip(out["picture"], X["image"]))
    assert FGSMPerturber().written_columns == ("image",)
    assert "column" not in FGSMPerturber().get_params()


# ----------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------
def test_estimator_errors(mmn, text_cnn, prepared, small_cnn):
    X, y = prepared
    with pytest.raises(ValueError, match="'estimator'"):
        FGSMPerturber().fit(X, y)
    with pytest.raises(ValueError, match="estimator") as info:
        FGSMPerturber(small_cnn()).fit(X, y)
    assert isinstance(info.value, NotFittedError)
    with pytest.raises(ValueError, match="'image'"):
        FGSMPerturber(text_cnn).fit(X, y)
    with pytest.raises(ValueError, match="loss_gradient"):
        FGSMPerturber(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="image"):
        FGSMPerturber(mmn).fit(X.drop(columns="image"))
    with pytest.raises(NotFittedError):
        FGSMPerturber(mmn).transform(X)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"eps": -0.1}, "eps"),
        ({"eps": "0.1"}, "eps"),
        ({"eps": None}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"eps": float("inf")}, "eps"),
        ({"n_iter": 0}, "n_iter"),
        ({"n_iter": 2.5}, "n_iter"),
        ({"n_iter": "3"}, "n_iter"),
        ({"step_size": 0}, "step_size"),
        ({"step_size": -0.01}, "step_size"),
        ({"step_size": float("inf")}, "step_size"),
        ({"step_size": "big"}, "step_size"),
        ({"clip": (1.0, 0.0)}, "clip"),
        ({"clip": (0.0,)}, "clip"),
        ({"clip": "01"}, "clip"),
        ({"clip": (0.0, float("nan"))}, "clip"),
        ({"random_start": "yes"}, "random_start"),
        ({"n_restarts": 0}, "n_restarts"),
        ({"n_restarts": 1.5}, "n_restarts"),
        ({"n_restarts": "2"}, "n_restarts"),
        ({"n_restarts": 2}, "n_restarts"),  # restarts need random_start=True
    ],
)
def test_bad_parameters(mmn, prepared, params, name):
    X, y = prepared
    with pytest.raises(ValueError, match=f"'{name}'"):
        FGSMPerturber(mmn, **params).fit(X, y)
