"""Same seed, same model: in one process, across joblib workers, for any torch thread count.

Finding behind ``n_threads``: on CPU, oneDNN's weight gradient of
``Conv2d`` is summed in an order that depends on the number of torch
intra-op threads (forward passes, ``Linear`` and ``Conv1d`` gradients did not
depend on it in our measurements). joblib's worker processes run torch with
``cpu_count // n_jobs`` threads and Dask workers with one, while the parent
keeps its own count, so an image model fitted with ``n_jobs=2`` differed
from the same fit with ``n_jobs=1`` (log-loss differences of about 1e-9
after two epochs, weight differences up to 1e-3 after three). Pinning the
count with ``n_threads`` makes them identical; the tests below check it.
"""

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

from skmmat import GloveSequencer, ImageResizer, MultiModalCNNClassifier, make_crisis_tweets


@pytest.fixture(scope="session")
def small(tiny_params):
    """``tiny_params`` for two epochs, without early stopping, seeded."""
    return {**tiny_params, "max_epochs": 2, "patience": None, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    """Preprocessed once: the workers only fit (32x32 images, where threads matter)."""
    df = make_crisis_tweets(120, n_events=3, random_state=0)
    prep = make_pipeline(ImageResizer(size=(32, 32), n_jobs=1), GloveSequencer())
    return prep.fit_transform(df[["image", "text"]]), df["label"], df["event"]


@pytest.fixture(scope="session")
def make_model(small):
    """``make_model(**params)``: an unfitted ``small`` classifier on one thread."""

    def make_model(**params):
        return MultiModalCNNClassifier(**{**small, "n_threads": 1, **params})

    return make_model


def test_same_seed_same_model(data, make_model):
    X, y, _ = data
    a, b = make_model().fit(X, y), make_model().fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    for v, w in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(v, w)


class _RecordThreads(Callback):
    def initialize(self):
        self.seen = []
        return self

    def on_batch_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


class _Fail(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("boom")


def RecordingClassifier(fail=False, **params):  # noqa: N802 - reads as a class
    """A classifier whose training records the torch thread count of every batch."""
    callbacks = [("record", _RecordThreads())] + ([("fail", _Fail())] if fail else [])
    return MultiModalCNNClassifier(callbacks=callbacks, **params)


@pytest.fixture(scope="module")
def text_data(data):
    X, y, _ = data
    return X[["text"]], y


def _fit_and_report(params, n_threads, X, y):
    clf = RecordingClassifier(modalities="text", **{**params, "n_threads": n_threads}).fit(X, y)
    return set(dict(clf.net_.callbacks_)["record"].seen), torch.get_num_threads()


def test_n_threads_is_applied_during_fit_and_restored(text_data, small):
    X, y = text_data
    previous = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        seen, after = _fit_and_report(small, 1, X, y)
        assert seen == {1} and after == 3
        seen, after = _fit_and_report(small, None, X, y)  # None: left alone
        assert seen == {3} and after == 3
        clf = RecordingClassifier(fail=True, modalities="text", **{**small, "n_threads": 2})
        with pytest.raises(RuntimeError, match="boom"):
            clf.fit(X, y)
        assert torch.get_num_threads() == 3  # restored after an error, too
    finally:
        torch.set_num_threads(previous)


def test_n_threads_is_applied_during_inference(text_data, monkeypatch, make_model):
    X, y = text_data
    clf = make_model(modalities="text").fit(X, y)
    seen = []
    module = clf.net_.module_
    original = type(module).forward
    monkeypatch.setattr(
        type(module),
        "forward",
        lambda self, **kw: seen.append(torch.get_num_threads()) or original(self, **kw),
    )
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        clf.predict_proba(X)
        clf.loss_gradient(X)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_n_jobs_1_and_2_are_identical(data, small, make_model):
    """cross_validate and GridSearchCV in joblib's worker processes.

    One test, so that pytest-xdist starts one pool of workers only.
    """
    X, y, events = data
    kwargs = {"groups": events, "cv": LeaveOneGroupOut(), "scoring": ("accuracy", "neg_log_loss")}
    serial = cross_validate(make_model(), X, y, n_jobs=1, **kwargs)
    parallel = cross_validate(make_model(), X, y, n_jobs=2, **kwargs)
    for key in ("test_accuracy", "test_neg_log_loss"):
        np.testing.assert_array_equal(serial[key], parallel[key])

    grid = {"hidden_units": [4, 8]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    serial = GridSearchCV(make_model(), grid, cv=cv, scoring="neg_log_loss", n_jobs=1)
    parallel = GridSearchCV(make_model(), grid, cv=cv, scoring="neg_log_loss", n_jobs=2)
    serial.fit(X, y)
    parallel.fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(serial.cv_results_[key], parallel.cv_results_[key])
    assert serial.best_params_ == parallel.best_params_
    np.testing.assert_array_equal(
        serial.best_estimator_.predict_proba(X), parallel.best_estimator_.predict_proba(X)
    )

    # the workers start with cpu_count // n_jobs threads; n_threads overrides that
    text = X[["text"]]
    runs = (joblib.delayed(_fit_and_report)(small, n, text, y) for n in (2, 1))
    results = joblib.Parallel(n_jobs=2)(runs)
    assert [seen for seen, _ in results] == [{2}, {1}]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_bad_n_threads_raises(bad):
    with pytest.raises(ValueError, match="n_threads"):
        MultiModalCNNClassifier(n_threads=bad)._validate_params()
