"""Tests of skmmat.metrics: adversarial accuracy and the adversarial scorer."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    make_crisis_tweets,
)
from skmmat.adversarial import craft_adversarial
from skmmat.metrics import (
    SCORES,
    adversarial_accuracy,
    adversarial_score,
    make_adversarial_scorer,
    prediction_scores,
    predicts_one_class,
    score_predictions,
)


@pytest.fixture(scope="session")
def small_cnn(make_small_cnn):
    """``small_cnn(**params)``: ``small_params`` at lr 1e-2, 5 epochs, no early stopping, seed 0."""

    def small_cnn(**params):
        return make_small_cnn(
            **{"lr": 1e-2, "patience": None, "max_epochs": 5, "random_state": 0, **params}
        )

    return small_cnn


class Recorder(TransformerMixin, BaseEstimator):
    """A pass-through step that counts the rows it transforms."""

    def fit(self, X, y=None):
        self.seen_ = []
        return self

    def transform(self, X):
        self.seen_.append(len(X))
        return X


@pytest.fixture(scope="module")
def data():
    df = make_crisis_tweets(120, random_state=1)
    return df[["image", "text"]], df["label"].to_numpy()


@pytest.fixture(scope="module")
def pipe(data, small_cnn):
    X, y = data
    return make_pipeline(
        ImageResizer(size=(32, 32)), GloveSequencer(), Recorder(), small_cnn()
    ).fit(X, y)


@pytest.fixture(scope="module")
def other_pipe(data, small_cnn):
    X, y = data
    return make_pipeline(
        ImageResizer(size=(32, 32)), GloveSequencer(), small_cnn(random_state=1, max_epochs=6)
    ).fit(X, y)


def manual(model, source, Xt, y, **perturbers):
    perturbers = {
        "image_perturber": FGSMPerturber(),
        "text_perturber": WordSubstitutionPerturber(),
        **perturbers,
    }
    X_adv = craft_adversarial(source, Xt, y, **perturbers)
    return float(np.mean(model.predict(X_adv) == y)), X_adv


# ----------------------------------------------------------------------
# adversarial_accuracy
# ----------------------------------------------------------------------
def test_pipeline_is_preprocessed_then_its_last_step_attacked(pipe, data):
    X, y = data
    pipe[2].seen_.clear()
    acc, X_adv = adversarial_accuracy(pipe, X, y, return_examples=True)
    assert pipe[2].seen_ == [len(X)]  # X went through every step but the last, once
    Xt = pipe[:-1].transform(X)
    expected, expected_adv = manual(pipe[-1], pipe[-1], Xt, y)
    assert acc == expected
    assert acc < pipe.score(X, y)  # the attack bites
    for column in ("image", "text"):
        np.testing.assert_array_equal(np.stack(X_adv[column]), np.stack(expected_adv[column]))
    assert list(X_adv["tokens"]) == list(expected_adv["tokens"])
    assert np.stack(X_adv["image"]).shape[1:] == (32, 32, 3)  # preprocessed examples


def test_bare_classifier_equals_manual_computation(pipe, data):
    X, y = data
    Xt = pipe[:-1].transform(X)
    clf = pipe[-1]
    assert adversarial_accuracy(clf, Xt, y) == manual(clf, clf, Xt, y)[0]
    assert adversarial_accuracy(pipe, X, list(y)) == adversarial_accuracy(clf, Xt, y)
    # a one-step pipeline has no preprocessing to run
    one_step = Pipeline([("clf", clf)])
    assert adversarial_accuracy(one_step, Xt, y) == adversarial_accuracy(clf, Xt, y)


def test_custom_and_disabled_perturbers(pipe, data):
    X, y = data
    Xt = pipe[:-1].transform(X)
    clf = pipe[-1]
    clean = adversarial_accuracy(pipe, X, y, image_perturber=None, text_perturber=None)
    assert clean == pytest.approx(pipe.score(X, y))
    image_only = adversarial_accuracy(pipe, X, y, text_perturber=None)
    assert image_only == manual(clf, clf, Xt, y, text_perturber=None)[0]
    strong = FGSMPerturber(eps=0.3)
    assert (
        adversarial_accuracy(pipe, X, y, image_perturber=strong, text_perturber=None)
        == manual(clf, clf, Xt, y, image_perturber=strong, text_perturber=None)[0]
    )
    assert strong.estimator is None  # the template is not modified


def test_against_crafts_on_another_model(pipe, other_pipe, data):
    X, y = data
    Xt = pipe[:-1].transform(X)
    source, target = other_pipe[-1], pipe[-1]
    expected, _ = manual(target, source, Xt, y)
    assert adversarial_accuracy(pipe, X, y, against=other_pipe) == expected
    assert adversarial_accuracy(pipe, X, y, against=source) == expected
    assert adversarial_accuracy(target, Xt, y, against=source) == expected
    white_box = adversarial_accuracy(pipe, X, y)
    assert adversarial_accuracy(pipe, X, y, against=pipe) == white_box
    _, X_transfer = adversarial_accuracy(pipe, X, y, against=other_pipe, return_examples=True)
    _, X_white = adversarial_accuracy(pipe, X, y, return_examples=True)
    assert not np.array_equal(np.stack(X_transfer["image"]), np.stack(X_white["image"]))


def test_against_the_clean_model_of_a_wrapper(data, small_cnn):
    X, y = data
    mmat = make_pipeline(
        ImageResizer(size=(32, 32)),
        GloveSequencer(),
        AdversarialAugmentationWrapper(small_cnn(), random_state=0),
    ).fit(X, y)
    wrapper = mmat[-1]
    Xt = mmat[:-1].transform(X)
    expected, _ = manual(wrapper, wrapper.initial_estimator_, Xt, y)
    got = adversarial_accuracy(mmat, X, y, against=wrapper.initial_estimator_)
    assert got == expected
    white_box, _ = manual(wrapper, wrapper.estimator_, Xt, y)
    assert adversarial_accuracy(mmat, X, y) == white_box


def test_against_a_model_of_other_modalities(pipe, data, small_cnn):
    X, y = data
    Xt = pipe[:-1].transform(X)
    text_cnn = small_cnn(modalities=("text",)).fit(Xt, y)
    # only the texts can be crafted against a Text-CNN; the images stay clean
    expected, X_adv = manual(pipe[-1], text_cnn, Xt, y)
    np.testing.assert_array_equal(np.stack(X_adv["image"]), np.stack(Xt["image"]))
    assert adversarial_accuracy(pipe, X, y, against=text_cnn) == expected


# ----------------------------------------------------------------------
# the scorer
# ----------------------------------------------------------------------
def test_scorer_in_cross_validate(data, small_cnn):
    X, y = data
    pipe = make_pipeline(ImageResizer(size=(32, 32)), GloveSequencer(), small_cnn())
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    scoring = {"accuracy": "accuracy", "adversarial": make_adversarial_scorer()}
    res = cross_validate(
        pipe,
        X,
        y,
        cv=cv,
        scoring=scoring,
        return_estimator=True,
        return_indices=True,
        error_score="raise",
    )
    assert res["test_adversarial"].shape == (2,)
    for est, test, score in zip(res["estimator"], res["indices"]["test"], res["test_adversarial"]):
        assert score == adversarial_accuracy(est, X.iloc[test], y[test])
    assert (res["test_adversarial"] < res["test_accuracy"]).all()  # the attack bites in each fold


def test_scorer_with_custom_perturbers(pipe, data):
    X, y = data
    default = make_adversarial_scorer()(pipe, X, y)
    assert default == adversarial_accuracy(pipe, X, y)
    # (both attacks together are stronger than the image attack alone on this model)
    assert default < adversarial_accuracy(pipe, X, y, text_perturber=None)
    scorer = make_adversarial_scorer(image_perturber=FGSMPerturber(eps=0.3), text_perturber=None)
    expected = adversarial_accuracy(
        pipe, X, y, image_perturber=FGSMPerturber(eps=0.3), text_perturber=None
    )
    assert scorer(pipe, X, y) == expected
    off = make_adversarial_scorer(image_perturber=None, text_perturber=None)
    assert off(pipe, X, y) == pytest.approx(pipe.score(X, y))
    assert "eps=0.3" in repr(scorer)


def test_scorer_in_grid_search(data, small_cnn):
    X, y = data
    pipe = Pipeline(
        [
            ("images", ImageResizer(size=(32, 32))),
            ("texts", GloveSequencer()),
            ("clf", small_cnn(max_epochs=1)),
        ]
    )
    grid = GridSearchCV(
        pipe,
        {"clf__hidden_units": [8, 16]},
        scoring={"accuracy": "accuracy", "adversarial": make_adversarial_scorer()},
        refit="accuracy",
        cv=2,
        error_score="raise",
    ).fit(X, y)
    results = grid.cv_results_
    # each adversarial score is that of the candidate refitted here on the other fold
    for i, (train, test) in enumerate(StratifiedKFold(2).split(X, y)):
        for params, score in zip(results["params"], results[f"split{i}_test_adversarial"]):
            model = clone(pipe).set_params(**params).fit(X.iloc[train], y[train])
            assert score == adversarial_accuracy(model, X.iloc[test], y[test])
    best = int(np.argmax(results["mean_test_accuracy"]))
    assert grid.best_index_ == best
    assert grid.best_params_ == results["params"][best]


def checkerboard_images(n, seed):
    """Light and dark 8x8 grey images whose class shows twice.

    A noisy brightness (0.5 +- 0.15, sd 0.2: it overlaps between the classes)
    and a faint checkerboard (+-0.08, its phase set by the class: exact, but
    fainter than FGSM's eps of 0.1, so one attack step reverses it).
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.array(["dark", "light"])[np.arange(n) % 2])
    sign = np.where(y == "light", 1.0, -1.0)[:, None, None]
    level = 0.5 + 0.15 * sign + rng.normal(scale=0.2, size=(n, 1, 1))
    checker = np.indices((8, 8)).sum(axis=0) % 2 * 2 - 1
    grey = np.clip(level + 0.08 * sign * checker, 0.0, 1.0)
    images = np.repeat(grey[..., None], 3, axis=-1)
    return pd.DataFrame({"image": list(np.round(images * 255).astype(np.uint8))}), y


def test_adversarial_scorer_picks_another_model_than_accuracy(small_cnn):
    """Selecting by adversarial accuracy is not selecting by accuracy.

    Why the two disagree: on the 100 rows of a fold, the plain Visual-CNN
    learns mostly the brightness (its accuracy hardly changes with the
    checkerboard removed or reversed): 0.75 to 0.9 clean, and FGSM, which
    moves the brightness by 0.1, leaves more than half of the images on
    their side. The wrapper fits twice the rows, half of them copies whose
    brightness the attack on that plain model pushed towards the other
    class, and learns the checkerboard instead: (nearly) perfect clean
    accuracy, but a white-box FGSM reverses every checkerboard. The same
    picks for data seeds 0-2 and model seeds 0-2, with margins of 0.1 to
    0.25 in accuracy and 0.3 to 0.6 in adversarial accuracy.
    """
    X, y = checkerboard_images(200, seed=0)
    cnn = small_cnn(modalities=("image",), max_epochs=20)
    mmat = AdversarialAugmentationWrapper(cnn, text_perturber=None, random_state=0)
    pipe = Pipeline([("images", ImageResizer(size=(8, 8))), ("clf", cnn)])
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    grid = {"clf": [cnn, mmat]}
    by_accuracy = GridSearchCV(pipe, grid, scoring="accuracy", cv=cv, error_score="raise")
    by_adversarial = GridSearchCV(
        pipe, grid, scoring=make_adversarial_scorer(), cv=cv, error_score="raise"
    )
    by_accuracy.fit(X, y)
    by_adversarial.fit(X, y)
    assert isinstance(by_accuracy.best_params_["clf"], AdversarialAugmentationWrapper)
    assert isinstance(by_adversarial.best_params_["clf"], MultiModalCNNClassifier)
    assert by_accuracy.best_index_ != by_adversarial.best_index_
    accuracy = by_accuracy.cv_results_["mean_test_score"]
    adversarial = by_adversarial.cv_results_["mean_test_score"]
    assert accuracy[1] - accuracy[0] >= 0.1 and adversarial[0] - adversarial[1] >= 0.3


def test_scorer_is_picklable(pipe, data):
    X, y = data
    scorer = make_adversarial_scorer()
    again = pickle.loads(pickle.dumps(scorer))
    assert again(pipe, X, y) == scorer(pipe, X, y)
    custom = make_adversarial_scorer(image_perturber=FGSMPerturber(eps=0.05), text_perturber=None)
    again = pickle.loads(pickle.dumps(custom))
    assert again.image_perturber.eps == 0.05 and again.text_perturber is None


# ----------------------------------------------------------------------
# scores beside accuracy
# ----------------------------------------------------------------------
def test_prediction_scores_against_hand_computations():
    y_true = np.array(["inf"] * 8 + ["not"] * 2)
    y_pred = np.array(["inf"] * 7 + ["not"] + ["not", "inf"])
    s = prediction_scores(y_true, y_pred)
    # inf: precision 7/8, recall 7/8 -> F1 7/8; not: precision 1/2, recall 1/2 -> F1 1/2
    assert s["accuracy"] == pytest.approx(0.8)
    assert s["balanced_accuracy"] == pytest.approx((7 / 8 + 1 / 2) / 2)
    assert s["macro_f1"] == pytest.approx((7 / 8 + 1 / 2) / 2)
    assert s["weighted_f1"] == pytest.approx(0.8 * 7 / 8 + 0.2 * 1 / 2)
    assert s["one_class"] is False
    constant = prediction_scores(y_true, np.array(["inf"] * 10))
    assert constant["accuracy"] == pytest.approx(0.8)  # looks fine ...
    assert constant["balanced_accuracy"] == pytest.approx(0.5)  # ... is chance
    assert constant["macro_f1"] == pytest.approx((2 * 0.8 / 1.8) / 2)  # F1 of "not" is 0
    assert constant["one_class"] is True and predicts_one_class(["a", "a"])
    assert set(SCORES) == {"accuracy", "balanced_accuracy", "macro_f1", "weighted_f1"}


def test_adversarial_score_takes_any_metric(pipe, data):
    X, y = data
    Xt = pipe[:-1].transform(X)
    _, X_adv = manual(pipe[-1], pipe[-1], Xt, y)
    y_adv = pipe[-1].predict(X_adv)
    for metric in SCORES:
        assert adversarial_score(pipe, X, y, metric=metric) == pytest.approx(
            score_predictions(metric, y, y_adv)
        )
    assert adversarial_score(pipe, X, y) == adversarial_accuracy(pipe, X, y)
    custom = adversarial_score(pipe, X, y, metric=lambda t, p: float(np.mean(t != p)))
    assert custom == pytest.approx(1 - adversarial_accuracy(pipe, X, y))
    f1 = make_adversarial_scorer(metric="macro_f1")
    assert f1(pipe, X, y) == pytest.approx(score_predictions("macro_f1", y, y_adv))
    assert "macro_f1" in repr(f1)
    with pytest.raises(ValueError, match="metric"):
        make_adversarial_scorer(metric="auc")


def test_worst_case_over_attacks_counts_a_tweet_broken_by_any(pipe, data):
    X, y = data
    clf = pipe[-1]
    Xt = pipe[:-1].transform(X)
    eq2 = {"text_perturber": WordSubstitutionPerturber(), "image_perturber": FGSMPerturber()}
    greedy = {"text_perturber": WordSubstitutionPerturber(search="greedy", max_substitutions=1)}
    crafted = [craft_adversarial(clf, Xt, y, **a) for a in (eq2, greedy)]
    per_attack = [clf.predict(frame) == y for frame in crafted]
    acc, X_adv = adversarial_accuracy(pipe, X, y, attacks=[eq2, greedy], return_examples=True)
    robust = per_attack[0] & per_attack[1]
    assert acc == pytest.approx(robust.mean())
    assert acc <= min(m.mean() for m in per_attack)
    # each row comes from the first attack that broke it, else from the last attack
    source = np.where(per_attack[0], 1, 0)
    for column in ("image", "text", "tokens"):
        for i, value in enumerate(X_adv[column]):
            expected = crafted[source[i]][column].iloc[i]
            np.testing.assert_array_equal(np.asarray(value), np.asarray(expected))
    assert (clf.predict(X_adv) != y).mean() == pytest.approx(1 - acc)
    # the worst case in macro-F1 too, and through a scorer
    f1 = adversarial_score(pipe, X, y, metric="macro_f1", attacks=[eq2, greedy])
    scorer = make_adversarial_scorer(metric="macro_f1", attacks=[eq2, greedy])
    assert scorer(pipe, X, y) == pytest.approx(f1)
    assert "attacks=" in repr(pickle.loads(pickle.dumps(scorer)))


def test_restarts_and_the_joint_attack_in_the_metrics(pipe, data):
    """The metrics take PGD with restarts and the joint attack, alone or in a worst case."""
    X, y = data
    clf = pipe[-1]
    Xt = pipe[:-1].transform(X)
    image = FGSMPerturber(eps=0.05, n_iter=2, random_start=True, n_restarts=2, random_state=0)
    text = WordSubstitutionPerturber(n_iter=2, max_substitutions=2, threshold=None)
    joint = {"image_perturber": image, "text_perturber": text, "joint": True}
    expected = craft_adversarial(clf, Xt, y, **joint)
    want = float(np.mean(clf.predict(expected) == y))
    acc = adversarial_accuracy(pipe, X, y, image_perturber=image, text_perturber=text, joint=True)
    assert acc == pytest.approx(want)
    assert adversarial_accuracy(pipe, X, y, attacks=[joint]) == pytest.approx(want)
    scorer = make_adversarial_scorer(image_perturber=image, text_perturber=text, joint=True)
    assert scorer(pipe, X, y) == pytest.approx(want)
    assert "joint=True" in repr(pickle.loads(pickle.dumps(scorer)))
    # an item without "joint" takes the call's; one with it keeps its own
    composed = {"image_perturber": image, "text_perturber": text, "joint": False}
    composed_acc = float(np.mean(clf.predict(craft_adversarial(clf, Xt, y, **composed)) == y))
    plain = {"image_perturber": image, "text_perturber": text}
    assert adversarial_accuracy(pipe, X, y, attacks=[plain], joint=True) == pytest.approx(want)
    assert adversarial_accuracy(pipe, X, y, attacks=[plain]) == pytest.approx(composed_acc)
    assert adversarial_accuracy(pipe, X, y, attacks=[composed], joint=True) == pytest.approx(
        composed_acc
    )
    worst = adversarial_accuracy(pipe, X, y, attacks=[composed, joint])
    assert worst <= min(want, composed_acc)
    greedy = {"text_perturber": WordSubstitutionPerturber(search="greedy", max_substitutions=1)}
    assert adversarial_accuracy(pipe, X, y, attacks=[joint, greedy]) <= want


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"joint": "yes"}, "'joint'"),
        ({"attacks": [{"text_perturber": None, "joint": 1}]}, "'joint'"),
        ({"attacks": []}, "non-empty list"),
        ({"attacks": [{"text": None}]}, "keys 'image_perturber'"),
        ({"attacks": [{}], "text_perturber": None}, "either 'attacks'"),
        ({"attacks": [{"image_perturber": WordSubstitutionPerturber()}]}, "image_perturber"),
    ],
)
def test_bad_attack_lists_are_named(pipe, data, kwargs, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        adversarial_accuracy(pipe, X, y, **kwargs)
    with pytest.raises(ValueError, match=match):
        make_adversarial_scorer(**kwargs)
