"""skmmat.datasets.crisismmd_train_test_split: by pair, or by tweet."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from skmmat.datasets import crisismmd_train_test_split, load_crisismmd


@pytest.fixture(scope="module")
def harvey(crisismmd_root):
    df = load_crisismmd(crisismmd_root, events="hurricane_harvey")
    return df, df["label"].to_numpy()


def test_split_by_rows_is_sklearns_stratified_split(harvey):
    df, y = harvey
    X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(df, y, split="rows", random_state=3)
    expected_tr, expected_te = train_test_split(
        np.arange(len(y)), test_size=0.1, stratify=y, random_state=3
    )
    np.testing.assert_array_equal(X_tr.index, df.index[expected_tr])
    np.testing.assert_array_equal(X_te.index, df.index[expected_te])
    np.testing.assert_array_equal(y_te, y[expected_te])
    # real CrisisMMD: a split by row puts pairs of one tweet on both sides
    assert X_te["tweet_id"].isin(X_tr["tweet_id"]).any()


def test_split_by_tweets_keeps_each_tweet_on_one_side(harvey):
    df, y = harvey
    X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(df, y, test_size=0.2, random_state=0)
    assert not set(X_tr["tweet_id"]) & set(X_te["tweet_id"])
    assert sorted(X_tr.index.append(X_te.index)) == list(df.index)  # no row dropped
    assert len(X_te) / len(df) == pytest.approx(0.2, abs=0.02)
    assert np.mean(y_te == "informative") == pytest.approx(np.mean(y == "informative"), abs=0.02)
    np.testing.assert_array_equal(y_tr, df.loc[X_tr.index, "label"])
    again = crisismmd_train_test_split(df, y, test_size=0.2, random_state=0)
    assert again[1].index.equals(X_te.index)  # seeded
    other = crisismmd_train_test_split(df, y, test_size=0.2, random_state=1)
    assert not other[1].index.equals(X_te.index)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "tweet"}, "split must be one of"),
        ({"test_size": 0.0}, "test_size must be a float in"),
        ({"test_size": 0.7}, "test_size must be a float in"),
        ({"test_size": True}, "test_size must be a float in"),
        ({"groups": "user_id"}, "needs a 'user_id' column"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    X = pd.DataFrame({"tweet_id": np.arange(20), "text": ["a"] * 20})
    with pytest.raises(ValueError, match=message):
        crisismmd_train_test_split(X, [0, 1] * 10, **kwargs)


def test_lengths_must_match():
    X = pd.DataFrame({"tweet_id": np.arange(20)})
    with pytest.raises(ValueError, match="X has 20 rows but y has 19 labels"):
        crisismmd_train_test_split(X, [0] * 19)
