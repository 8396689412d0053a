"""Hyper-parameter search and per-disaster cross-validation on a Dask cluster.

A real ``LocalCluster`` of two single-threaded worker processes runs the
scikit-learn searches through ``joblib.parallel_backend("dask")``; the
scores must be identical to a local, serial run.
"""

import logging

import joblib
import numpy as np
import pytest
from sklearn.model_selection import (
    GridSearchCV,
    LeaveOneGroupOut,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline

from skmmat import GloveSequencer, ImageResizer, MultiModalCNNClassifier, make_crisis_tweets

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    df = make_crisis_tweets(160, n_events=4, random_state=0)
    return df[["image", "text"]], df["label"], df["event"]


@pytest.fixture(scope="module")
def make_pipe(tiny_params):
    """``make_pipe(**params)``: an unfitted pipeline around a ``tiny_params`` classifier."""
    # the parent process and the workers run torch with different thread counts
    small = {**tiny_params, "max_epochs": 2, "patience": None, "random_state": 0, "n_threads": 1}

    def make_pipe(**params):
        return make_pipeline(
            ImageResizer(size=(32, 32), n_jobs=1),
            GloveSequencer(),
            MultiModalCNNClassifier(**{**small, **params}),
        )

    return make_pipe


def test_search_and_per_disaster_cross_validation_match_a_local_run(client, data, make_pipe):
    """One test, so that pytest-xdist never starts the cluster twice."""
    X, y, events = data
    # per-disaster cross-validation: train on three disasters, test on the fourth
    kwargs = {"groups": events, "cv": LeaveOneGroupOut(), "scoring": ("accuracy", "neg_log_loss")}
    local = cross_validate(make_pipe(), X, y, **kwargs)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = cross_validate(make_pipe(), X, y, **kwargs)
    assert len(stream.data) >= 4  # the folds ran on the cluster
    assert len(remote["test_accuracy"]) == events.nunique() == 4
    for key in ("test_accuracy", "test_neg_log_loss"):
        np.testing.assert_array_equal(remote[key], local[key])

    # hyper-parameter search
    grid = {"multimodalcnnclassifier__hidden_units": [4, 8]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    local = GridSearchCV(make_pipe(), grid, cv=cv, scoring="neg_log_loss").fit(X, y)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = GridSearchCV(make_pipe(), grid, cv=cv, scoring="neg_log_loss").fit(X, y)
    assert len(stream.data) >= 4
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        remote.best_estimator_.predict_proba(X), local.best_estimator_.predict_proba(X)
    )


def test_search_over_a_pretrained_encoder_shares_its_feature_cache(client, data, tmp_path):
    """Workers read and write one feature cache; the scores equal a local run's."""
    X, y, _ = data
    cache = tmp_path / "features"

    def make_pipe():
        return make_pipeline(
            ImageResizer(size=(32, 32), n_jobs=1),
            GloveSequencer(),
            MultiModalCNNClassifier(
                image_encoder="efficientnet_lite0",
                feature_cache=str(cache),
                hidden_units=8,
                text_filters=8,
                max_epochs=2,
                patience=None,
                random_state=0,
                n_threads=1,
            ),
        )

    grid = {"multimodalcnnclassifier__dropout": [0.1, 0.5]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = GridSearchCV(make_pipe(), grid, cv=cv, scoring="neg_log_loss").fit(X, y)
    assert len(stream.data) >= 4
    # every training image of both folds was encoded once, by the workers, into one cache
    assert len(list(cache.rglob("*.npy"))) == len(X)
    local = GridSearchCV(make_pipe(), grid, cv=cv, scoring="neg_log_loss").fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
