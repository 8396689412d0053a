"""The transformer contract both perturbers share (BasePerturber)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import Pipeline

from skmmat import FGSMPerturber, WordSubstitutionPerturber

from .conftest import stack


@pytest.fixture(params=["image", "text"])
def perturber(request, mmn):
    if request.param == "image":
        return FGSMPerturber(mmn, eps=0.1)
    return WordSubstitutionPerturber(mmn, algorithm="exact")


def test_fit_transform_equals_fit_then_transform(perturber, prepared):
    X, y = prepared
    a = clone(perturber).fit_transform(X, y)
    b = clone(perturber).fit(X, y).transform(X)
    c = clone(perturber).fit(X).craft(X, None)
    column = perturber.modality
    np.testing.assert_array_equal(stack(a[column]), stack(b[column]))
    np.testing.assert_array_equal(stack(a[column]), stack(c[column]))
    # craft at the true labels differs where the model is wrong
    d = clone(perturber).fit(X).craft(X, y)
    assert not np.array_equal(stack(a[column]), stack(d[column]))


def test_clone_keeps_the_attacked_model(perturber, prepared):
    X, y = prepared
    twin = clone(perturber)
    assert twin.estimator is perturber.estimator  # the target, not a hyper-parameter
    assert twin.get_params()["eps"] == perturber.eps
    assert twin is not perturber
    column = perturber.modality
    np.testing.assert_array_equal(
        stack(twin.fit(X).craft(X, y)[column]), stack(perturber.fit(X).craft(X, y)[column])
    )


def test_frozen_estimator_is_attacked_like_the_model(mmn, prepared):
    X, y = prepared
    frozen = FrozenEstimator(mmn)
    got = FGSMPerturber(frozen).fit(X).craft(X, y)
    want = FGSMPerturber(mmn).fit(X).craft(X, y)
    np.testing.assert_array_equal(stack(got["image"]), stack(want["image"]))


def test_a_perturber_can_be_tuned_in_a_grid_search(prepared, small_cnn):
    """Pipeline(attack, frozen model): the grid finds the eps that hurts accuracy least."""
    X, y = prepared
    mmn = small_cnn(max_epochs=12).fit(X, y)
    pipe = Pipeline([("attack", FGSMPerturber(mmn)), ("model", FrozenEstimator(mmn))])
    folds = np.arange(len(X)) % 2
    search = GridSearchCV(
        pipe, {"attack__eps": [0.3, 0.0, 0.1]}, cv=PredefinedSplit(folds), refit=False
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"attack__eps": 0.0}
    assert scores[1] > scores[2] > scores[0]  # a larger eps is a stronger attack
    assert scores[1] == pytest.approx(np.mean(mmn.predict(X) == y))


# ---------------------------------------------------------------------------
# crafting a block of rows at a time
# ---------------------------------------------------------------------------


def _record_gradient_rows(monkeypatch, estimator):
    """Row counts of every loss_gradient call on ``estimator``."""
    calls = []
    original = type(estimator).loss_gradient

    def recording(self, X, y=None):
        calls.append(len(X))
        return original(self, X, y)

    monkeypatch.setattr(type(estimator), "loss_gradient", recording)
    return calls


@pytest.mark.parametrize(
    "make",
    [
        lambda m: FGSMPerturber(m, eps=0.1),
        lambda m: FGSMPerturber(m, eps=0.1, n_iter=3, random_start=True, random_state=4),
        lambda m: FGSMPerturber(
            m, eps=0.1, n_iter=2, random_start=True, n_restarts=3, random_state=4
        ),
        lambda m: WordSubstitutionPerturber(m, algorithm="exact", tokens_column="tokens"),
    ],
    ids=["fgsm", "pgd-random-start", "pgd-restarts", "word-substitution"],
)
def test_blocks_of_rows_give_the_whole_result(make, mmn, prepared, monkeypatch):
    from skmmat.adversarial import _base

    X, y = prepared
    assert "tokens" in X  # the word substitution rewrites it too
    whole = make(mmn).fit(X).craft(X, y)
    monkeypatch.setattr(_base, "CRAFT_BLOCK", 7)  # 160 rows: 22 full blocks and one of 6
    calls = _record_gradient_rows(monkeypatch, mmn)
    blocked = make(mmn).fit(X).craft(X, y)
    assert calls and max(calls) <= 7  # the gradient of a block at a time
    assert_frames_equal(blocked, whole)


def test_joint_crafting_runs_one_gradient_per_block(mmn, prepared, monkeypatch):
    from skmmat.adversarial import _base, craft_adversarial

    X, y = prepared
    args = {"image_perturber": FGSMPerturber(), "text_perturber": WordSubstitutionPerturber()}
    whole = craft_adversarial(mmn, X, y, **args)
    monkeypatch.setattr(_base, "CRAFT_BLOCK", 50)
    calls = _record_gradient_rows(monkeypatch, mmn)
    blocked = craft_adversarial(mmn, X, y, **args)
    assert calls == [50, 50, 50, 10]  # one pass per block serves both perturbers
    assert_frames_equal(blocked, whole)


def assert_frames_equal(got, want):
    assert list(got.columns) == list(want.columns)
    assert got.index.equals(want.index)
    for column in want.columns:
        for a, b in zip(got[column], want[column], strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=column)
