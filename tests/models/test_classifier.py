"""Tests of MultiModalCNNClassifier."""

import copy
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skmmat.models import MultiModalCNN, MultiModalCNNClassifier


@pytest.fixture(scope="session")
def small(small_params):
    """Small, fast settings used by most tests: ``small_params`` with fewer filters."""
    return {**small_params, "image_filters": (4, 8), "text_filters": 8, "batch_size": 16}


def make_frame(n=120, n_classes=2, image_size=16, n_words=15, dim=50, seed=0, labels=None):
    """Random multi-modal frame with a learnable signal in both modalities.

    Images: class-dependent mean brightness. Texts: a class-dependent
    direction added to the non-padding word vectors; a random number of
    trailing word positions are all-zero padding.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    # Class directions are fixed (independent of ``seed``) so that frames
    # drawn with different seeds share the same signal.
    directions = np.random.default_rng(1234).normal(size=(n_classes, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    images, texts = [], []
    for c in y:
        level = 0.5 * c / max(n_classes - 1, 1)
        images.append((rng.random((image_size, image_size, 3)) * 0.5 + level).astype(np.float32))
        text = rng.normal(scale=0.3, size=(n_words, dim)) + 1.5 * directions[c]
        text[rng.integers(n_words // 2, n_words + 1) :] = 0.0
        texts.append(text.astype(np.float32))
    X = pd.DataFrame(
        {
            "tweet_id": np.arange(n),
            "image": images,
            "text": texts,
            "tokens": [["w"] * n_words] * n,
        }
    )
    if labels is not None:
        y = np.asarray(labels, dtype=object)[y]
    return X, y


@pytest.fixture(scope="module")
def fitted(small):
    """A small fitted MMN reused by the inference / gradient tests."""
    X, y = make_frame(n=80, seed=1, labels=["informative", "not_informative"])
    clf = MultiModalCNNClassifier(max_epochs=4, patience=None, random_state=0, **small)
    return clf.fit(X, y), X, y


# ----------------------------------------------------------------------
# learning
# ----------------------------------------------------------------------
@pytest.mark.parametrize("modalities", [("image", "text"), ("image",), ("text",)])
def test_learns_separable_signal(modalities, small):
    X, y = make_frame(n=120, seed=2)
    X_test, y_test = make_frame(n=80, seed=3)
    if modalities == ("image",):
        X, X_test = X.drop(columns="text"), X_test.drop(columns="text")
    if modalities == ("text",):
        X, X_test = X.drop(columns="image"), X_test.drop(columns="image")
    clf = MultiModalCNNClassifier(
        modalities=modalities, max_epochs=12, patience=4, random_state=0, **small
    ).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    assert set(clf.input_shapes_) == set(modalities)
    assert clf.net_.module_.modalities == modalities


def test_string_labels_and_classes(small):
    X, y = make_frame(n=80, seed=4, labels=["not_informative", "informative"])
    clf = MultiModalCNNClassifier(max_epochs=10, patience=None, random_state=0, **small)
    clf.fit(X, pd.Series(y))
    np.testing.assert_array_equal(clf.classes_, ["informative", "not_informative"])
    pred = clf.predict(X)
    assert pred.dtype == object and set(pred) <= {"informative", "not_informative"}
    assert clf.score(X, y) > 0.9
    assert clf.input_shapes_ == {"image": (16, 16, 3), "text": (15, 50)}
    assert clf.n_iter_ == 10


def test_multiclass_four_classes(small):
    X, y = make_frame(n=200, n_classes=4, seed=5)
    y = y + 10  # non-contiguous integer labels
    clf = MultiModalCNNClassifier(max_epochs=15, patience=None, random_state=0, **small)
    clf.fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [10, 11, 12, 13])
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 4)
    X_test, y_test = make_frame(n=80, n_classes=4, seed=55)
    assert clf.score(X_test, y_test + 10) > 0.9
    assert clf.net_.module_.head[-1].out_features == 4


def test_predict_proba_rows_sum_to_one(fitted):
    clf, X, _ = fitted
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_forward_logits_matches_predict_proba_and_restores_mode(fitted):
    clf, X, _ = fitted
    module = clf.net_.module_
    module.train()
    try:
        logits = clf.forward_logits(clf.model_inputs(X))
        assert module.training  # flag restored
    finally:
        module.eval()
    np.testing.assert_allclose(
        torch.softmax(logits, 1).detach().numpy(), clf.predict_proba(X), rtol=1e-5, atol=1e-6
    )
    inputs = clf.model_inputs(X)
    assert inputs["image"].shape == (len(X), 3, 16, 16) and inputs["image"].dtype == np.float32
    np.testing.assert_array_equal(inputs["image"][0], np.stack(X["image"])[0].transpose(2, 0, 1))


def test_eval_batch_size_auto_is_chosen_by_device(fitted):
    from skmmat.models._passes import eval_batch_size

    assert MultiModalCNNClassifier().eval_batch_size == "auto"
    assert eval_batch_size("auto", "cpu") == eval_batch_size("auto", None) == 32
    assert eval_batch_size("auto", torch.device("cpu")) == 32
    assert eval_batch_size("auto", "cuda:1") == eval_batch_size("auto", "mps") == 1024
    assert eval_batch_size(7, "cuda") == 7
    clf, X, y = fitted
    auto = clf.predict_proba(X)
    odd = copy.deepcopy(clf).set_params(eval_batch_size=7)  # batches that split X unevenly
    np.testing.assert_allclose(odd.predict_proba(X), auto, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        odd.loss_gradient(X, y)["image"], clf.loss_gradient(X, y)["image"], rtol=1e-4, atol=1e-7
    )


def test_fit_and_passes_never_stack_the_whole_column(small, monkeypatch):
    from skmmat.models import _inputs

    X, y = make_frame(n=300, seed=21)
    clf = MultiModalCNNClassifier(
        **{**small, "image_standardization": True, "max_epochs": 2}, random_state=0
    )
    blocks = []
    original = _inputs.RowColumn.__getitem__

    def recording(self, key):
        out = original(self, key)
        blocks.append(1 if np.ndim(out) == self.ndim - 1 else len(out))
        return out

    monkeypatch.setattr(_inputs.RowColumn, "__getitem__", recording)
    monkeypatch.setattr(_inputs.RowColumn, "__array__", None)  # np.asarray would stack all
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    grads = clf.loss_gradient(X, y)
    # rows come one at a time for training, in blocks of at most 256 for the image
    # statistics and of eval_batch_size (32 on CPU) for the passes
    assert blocks and max(blocks) <= 256 < len(X)
    monkeypatch.undo()
    # the blocks read what the whole stacked inputs hold
    inputs = clf.model_inputs(X)
    assert inputs["image"].flags.c_contiguous and inputs["image"].shape == (300, 3, 16, 16)
    np.testing.assert_array_equal(inputs["image"][7], X["image"][7].transpose(2, 0, 1))
    whole = torch.softmax(clf.forward_logits(inputs), dim=1).detach().numpy()
    np.testing.assert_allclose(proba, whole, rtol=1e-5, atol=1e-6)
    assert grads["image"].shape == (300, 16, 16, 3)


# ----------------------------------------------------------------------
# reproducibility, cloning, pickling
# ----------------------------------------------------------------------
def test_random_state_gives_bit_identical_fits(small):
    X, y = make_frame(n=60, seed=6)
    params = dict(max_epochs=3, patience=1, validation_fraction=0.2, **small)
    state = torch.get_rng_state()
    p1 = MultiModalCNNClassifier(random_state=3, **params).fit(X, y).predict_proba(X)
    p2 = MultiModalCNNClassifier(random_state=3, **params).fit(X, y).predict_proba(X)
    p3 = MultiModalCNNClassifier(random_state=4, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)
    # The caller's global torch RNG is untouched.
    assert torch.equal(state, torch.get_rng_state())


def test_clone_and_pickle_round_trip(fitted):
    clf, X, _ = fitted
    cloned = clone(clf)
    assert cloned.get_params() == clf.get_params()
    assert not hasattr(cloned, "net_") and not hasattr(cloned, "classes_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
    for key, value in restored.loss_gradient(X.iloc[:5]).items():
        np.testing.assert_array_equal(value, clf.loss_gradient(X.iloc[:5])[key])


# ----------------------------------------------------------------------
# early stopping / validation split
# ----------------------------------------------------------------------
def test_early_stopping_stops_and_restores_best_weights(small):
    X, _ = make_frame(n=100, seed=7)
    y = np.random.default_rng(0).integers(0, 2, len(X))  # pure noise labels
    clf = MultiModalCNNClassifier(
        max_epochs=40,
        patience=1,
        validation_fraction=0.3,
        random_state=0,
        **{**small, "dropout": 0.0, "lr": 1e-2},
    ).fit(X, y)
    history = clf.net_.history
    assert len(history) < 40
    assert clf.n_iter_ == len(history)
    valid_losses = history[:, "valid_loss"]
    stopper = dict(clf.net_.callbacks_)["early_stopping"]
    assert stopper.best_epoch_ == 1 + int(np.argmin(valid_losses))
    state = clf.net_.module_.state_dict()
    for key, value in stopper.best_model_weights_.items():
        assert torch.equal(state[key], value)
    # Validation rows are held out of training: 30 of 100 rows.
    train_rows = sum(b.get("train_batch_size", 0) for b in history[-1, "batches"])
    valid_rows = sum(b.get("valid_batch_size", 0) for b in history[-1, "batches"])
    assert (train_rows, valid_rows) == (70, 30)


def test_patience_none_runs_exactly_max_epochs(small):
    X, y = make_frame(n=40, seed=8)
    clf = MultiModalCNNClassifier(max_epochs=3, patience=None, random_state=0, **small)
    clf.fit(X, y)
    history = clf.net_.history
    assert len(history) == 3
    assert "valid_loss" not in history[-1]
    assert sum(b.get("train_batch_size", 0) for b in history[-1, "batches"]) == 40


def test_tiny_data_falls_back_to_unstratified_split(small):
    X, y = make_frame(n=9, n_classes=3, seed=9)
    clf = MultiModalCNNClassifier(max_epochs=2, patience=2, random_state=0, **small)
    with pytest.warns(UserWarning, match="unstratified"):
        clf.fit(X, y)
    assert len(clf.net_.history) == 2
    bad = clone(clf).set_params(validation_fraction=0.95)
    with pytest.raises(ValueError, match="validation_fraction"):
        bad.fit(X, y)


def test_verbose_prints_progress(capsys, small):
    X, y = make_frame(n=40, seed=10)
    MultiModalCNNClassifier(max_epochs=2, patience=None, random_state=0, **small).fit(X, y)
    assert capsys.readouterr().out == ""
    MultiModalCNNClassifier(max_epochs=2, patience=None, random_state=0, verbose=1, **small).fit(
        X, y
    )
    out = capsys.readouterr().out
    assert "train_loss" in out and "epoch" in out


# ----------------------------------------------------------------------
# loss_gradient
# ----------------------------------------------------------------------
def test_loss_gradient_layout(fitted):
    clf, X, y = fitted
    grads = clf.loss_gradient(X, y)
    assert set(grads) == {"image", "text"}
    assert grads["image"].shape == (len(X), 16, 16, 3) and grads["image"].dtype == np.float32
    assert grads["text"].shape == (len(X), 15, 50) and grads["text"].dtype == np.float32
    assert np.abs(grads["image"]).sum() > 0 and np.abs(grads["text"]).sum() > 0
    # Per-sample gradients do not depend on the batch the sample is in.
    sub = clf.loss_gradient(X.iloc[[5]], y[[5]])
    np.testing.assert_allclose(sub["image"][0], grads["image"][5], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(sub["text"][0], grads["text"][5], rtol=1e-4, atol=1e-7)


def _with_cell(X, column, row, new_value):
    X = X.copy()
    X[column] = list(X[column])
    X.at[X.index[row], column] = new_value
    return X


def test_loss_gradient_matches_finite_differences(fitted):
    clf, X, y = fitted
    rows = [0, 7]
    Xs, ys = X.iloc[rows].reset_index(drop=True), y[rows]
    grads = clf.loss_gradient(Xs, ys)
    codes = np.searchsorted(clf.classes_, ys)

    # (1) Tight check in float64 on a double-precision copy of the network.
    module = copy.deepcopy(clf.net_.module_).double().eval()
    inputs = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in clf.model_inputs(Xs).items()}

    def loss64(inp):
        logits = module(**inp)
        return -torch.log_softmax(logits, 1)[torch.arange(len(codes)), torch.as_tensor(codes)]

    rng = np.random.default_rng(0)
    eps = 1e-6
    for column in ("image", "text"):
        for i in range(len(rows)):
            for _ in range(5):
                model_idx = tuple(rng.integers(s) for s in inputs[column].shape[1:])
                plus = {k: v.clone() for k, v in inputs.items()}
                minus = {k: v.clone() for k, v in inputs.items()}
                plus[column][(i, *model_idx)] += eps
                minus[column][(i, *model_idx)] -= eps
                fd = ((loss64(plus) - loss64(minus))[i] / (2 * eps)).item()
                col_idx = (
                    (model_idx[1], model_idx[2], model_idx[0]) if column == "image" else model_idx
                )
                assert grads[column][(i, *col_idx)] == pytest.approx(fd, rel=1e-3, abs=1e-6)

    # (2) Public check through predict_proba (float32), against the wrong
    # labels (large loss and gradients) on the coordinates with the largest
    # gradients, where the finite difference is well resolved.
    codes = 1 - codes
    grads = clf.loss_gradient(Xs, clf.classes_[codes])
    h = 3e-3
    for column in ("image", "text"):
        for i in range(len(rows)):
            g = grads[column][i]
            idx = np.unravel_index(np.argmax(np.abs(g)), g.shape)
            cell = np.asarray(Xs[column].iloc[i], dtype=np.float64)
            losses = []
            for sign in (1, -1):
                new = cell.copy()
                new[idx] += sign * h
                p = clf.predict_proba(_with_cell(Xs, column, i, new.astype(np.float32)))
                losses.append(-math.log(p[i, codes[i]]))
            fd = (losses[0] - losses[1]) / (2 * h)
            assert g[idx] == pytest.approx(fd, rel=0.05, abs=1e-4)


def test_loss_gradient_without_labels_uses_predictions(fitted):
    clf, X, y = fitted
    y_flipped = np.where(clf.predict(X) == "informative", "not_informative", "informative")
    g_none = clf.loss_gradient(X)
    g_pred = clf.loss_gradient(X, clf.predict(X))
    g_flip = clf.loss_gradient(X, y_flipped)
    for key in ("image", "text"):
        np.testing.assert_array_equal(g_none[key], g_pred[key])
        assert not np.allclose(g_none[key], g_flip[key])


def test_loss_gradient_leaves_model_unchanged(fitted):
    clf, X, y = fitted
    module = clf.net_.module_
    before = {k: v.clone() for k, v in module.state_dict().items()}
    grads_before = [None if p.grad is None else p.grad.clone() for p in module.parameters()]
    proba = clf.predict_proba(X)
    training = module.training
    clf.loss_gradient(X, y)
    clf.loss_gradient(X)
    assert module.training == training
    for p, g in zip(module.parameters(), grads_before):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    # the parameters' requires_grad flags come back as they were, a frozen one frozen
    head = module.head[-1].weight
    head.requires_grad_(False)
    try:
        clf.loss_gradient(X, y)
        assert [p.requires_grad for p in module.parameters()].count(False) == 1
        assert not head.requires_grad
    finally:
        head.requires_grad_(True)


def test_loss_gradient_label_errors(fitted):
    clf, X, y = fitted
    with pytest.raises(ValueError, match="not seen during fit"):
        clf.loss_gradient(X, np.array(["unknown"] * len(X)))
    with pytest.raises(ValueError, match="labels"):
        clf.loss_gradient(X, y[:-1])


# ----------------------------------------------------------------------
# input validation
# ----------------------------------------------------------------------
def _bad_inputs():
    X, y = make_frame(n=20, seed=11)
    nan_y = y.astype(float)
    nan_y[3] = np.nan
    wrong_rank = _with_cell(X, "image", 2, np.zeros((16, 16), dtype=np.float32))
    wrong_channels = X.assign(image=[np.zeros((16, 16, 4), np.float32)] * len(X))
    inf_text = _with_cell(X, "text", 4, np.full((15, 50), np.inf, np.float32))
    nan_image = _with_cell(X, "image", 1, np.full((16, 16, 3), np.nan, np.float32))
    short_text = X.assign(text=[np.ones((1, 50), np.float32)] * len(X))
    tiny_image = X.assign(image=[np.ones((3, 3, 3), np.float32)] * len(X))
    return [
        ("nan-labels", X, nan_y, "missing"),
        ("single-class", X, np.zeros(len(X)), "one class"),
        ("zero-rows", X.iloc[:0], y[:0], "0 rows"),
        ("missing-column", X.drop(columns="text"), y, "text"),
        ("wrong-rank", wrong_rank, y, "'image'.*dimensions"),
        ("wrong-channels", wrong_channels, y, "'image'"),
        ("inf-text", inf_text, y, "'text'.*infinite"),
        ("nan-image", nan_image, y, "'image'.*NaN"),
        ("not-dataframe", np.zeros((20, 3)), y, "DataFrame"),
        ("short-text", short_text, y, "text_window"),
        ("tiny-image", tiny_image, y, "image_filters"),
        ("length-mismatch", X, y[:-1], "rows"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda c: c[0])
def test_bad_input_raises_before_training(case, monkeypatch, small):
    _, X, y, match = case

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr("skorch.NeuralNetClassifier.partial_fit", no_training)
    clf = MultiModalCNNClassifier(max_epochs=1, **small)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


@pytest.mark.parametrize(
    "param, value",
    [
        ("modalities", ("audio",)),
        ("modalities", ()),
        ("modalities", ("text", "text")),
        ("hidden_units", 0),
        ("hidden_units", 2.5),
        ("text_window", -1),
        ("image_filters", (8, 0)),
        ("image_filters", ()),
        ("text_filters", 0),
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("batch_size", 0),
        ("max_epochs", 0),
        ("lr", 0.0),
        ("lr", -1e-3),
        ("patience", 0),
        ("validation_fraction", 0.0),
        ("validation_fraction", 1.0),
        ("warm_start", "yes"),
        ("verbose", -1),
        ("device", "not-a-device"),
        ("random_state", "seed"),
        ("eval_batch_size", 0),
        ("eval_batch_size", "big"),
    ],
)
def test_bad_params_raise_naming_the_parameter(param, value):
    X, y = make_frame(n=20, seed=12)
    clf = MultiModalCNNClassifier(max_epochs=1).set_params(**{param: value})
    with pytest.raises(ValueError, match=param):
        clf.fit(X, y)


def test_single_string_modality_is_accepted(small):
    X, y = make_frame(n=40, seed=13)
    clf = MultiModalCNNClassifier(
        modalities="text", max_epochs=2, patience=None, random_state=0, **small
    ).fit(X.drop(columns="image"), y)
    assert clf.input_shapes_ == {"text": (15, 50)}


def test_shape_mismatch_at_predict_time(fitted):
    clf, X, _ = fitted
    X_big = X.assign(image=[np.zeros((32, 32, 3), np.float32)] * len(X))
    with pytest.raises(ValueError, match="'image'.*fitted on shape"):
        clf.predict(X_big)
    X_dim = X.assign(text=[np.zeros((15, 100), np.float32)] * len(X))
    with pytest.raises(ValueError, match="'text'.*fitted on shape"):
        clf.predict_proba(X_dim)
    with pytest.raises(ValueError, match="'text'.*fitted on shape"):
        clf.loss_gradient(X_dim)
    with pytest.raises(ValueError, match="text"):
        clf.predict(X.drop(columns="text"))


def test_predict_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    X, _ = make_frame(n=10)
    with pytest.raises(NotFittedError):
        MultiModalCNNClassifier().predict(X)


# ----------------------------------------------------------------------
# scikit-learn integration
# ----------------------------------------------------------------------
def test_get_params_set_params_round_trip():
    clf = MultiModalCNNClassifier(hidden_units=8, modalities=("text",), patience=None)
    params = clf.get_params()
    assert params["hidden_units"] == 8 and params["patience"] is None
    other = MultiModalCNNClassifier().set_params(**params)
    assert other.get_params() == params


def test_grid_search_in_pipeline(small):
    X, y = make_frame(n=60, seed=14, image_size=8)
    pipe = make_pipeline(
        FunctionTransformer(),
        MultiModalCNNClassifier(max_epochs=2, patience=None, random_state=0, **small),
    )
    grid = {
        "multimodalcnnclassifier__hidden_units": [4, 8],
        "multimodalcnnclassifier__dropout": [0.0, 0.3],
        "multimodalcnnclassifier__text_window": [2, 3],
        "multimodalcnnclassifier__lr": [1e-3],
    }
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise").fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert search.best_params_["multimodalcnnclassifier__hidden_units"] in (4, 8)
    best = search.best_estimator_[-1]
    assert best.net_.module_.head[1].out_features == best.hidden_units
    assert search.predict(X).shape == (60,)


# ----------------------------------------------------------------------
# warm start
# ----------------------------------------------------------------------
def test_warm_start_continues_training(small):
    X, y = make_frame(n=40, seed=15)
    clf = MultiModalCNNClassifier(max_epochs=3, patience=None, random_state=0, **small)
    clf.fit(X, y)
    trained = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}

    # A vanishing learning rate makes the continued weights visibly "the same".
    clf.set_params(warm_start=True, max_epochs=2, lr=1e-12)
    clf.fit(X, y)
    assert len(clf.net_.history) == 5
    assert clf.n_iter_ == 2
    assert [row["epoch"] for row in clf.net_.history] == [1, 2, 3, 4, 5]
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 1e-12
    for key, value in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(value, trained[key], rtol=0, atol=1e-6)

    # Without warm start the same call re-initialises the network.
    cold = clone(clf).set_params(warm_start=False).fit(X, y)
    assert len(cold.net_.history) == 2
    assert any(
        not torch.allclose(v, trained[k], atol=1e-3)
        for k, v in cold.net_.module_.state_dict().items()
    )


def test_warm_start_reinitialises_when_problem_changes(small):
    X, y = make_frame(n=40, seed=16)
    clf = MultiModalCNNClassifier(
        max_epochs=2, patience=None, random_state=0, warm_start=True, **small
    ).fit(X, y)
    clf.fit(X, np.where(y == 0, "a", "b"))  # different classes
    assert len(clf.net_.history) == 2
    clf.set_params(hidden_units=8).fit(X, np.where(y == 0, "a", "b"))  # new architecture
    assert len(clf.net_.history) == 2
    assert clf.net_.module_.head[1].out_features == 8


def test_module_is_multimodal_cnn(fitted):
    clf, _, _ = fitted
    assert isinstance(clf.net_.module_, MultiModalCNN)
    assert clf.net_.module_.modalities == ("image", "text")
