"""Progress output of MultiModalCNNClassifier.fit."""

import pickle

import pytest

from skmmat import GloveSequencer, MultiModalCNNClassifier, make_crisis_tweets


@pytest.fixture(scope="module")
def text_data():
    df = make_crisis_tweets(80, random_state=0)
    return GloveSequencer().fit_transform(df[["text"]]), df["label"]


@pytest.mark.parametrize(
    "verbose, expected, absent",
    [(0, None, "epoch"), (1, "valid_loss", "epoch/s"), (2, "epoch/s", None)],
)
def test_verbose_levels(text_data, capfd, verbose, expected, absent):
    X, y = text_data
    clf = MultiModalCNNClassifier(
        modalities=("text",), max_epochs=2, verbose=verbose, random_state=0
    ).fit(X, y)
    out, err = capfd.readouterr()
    shown = out + err
    if expected:
        assert expected in shown
    if absent:
        assert absent not in shown
    pickle.loads(pickle.dumps(clf))  # the progress bar never sticks to the model
