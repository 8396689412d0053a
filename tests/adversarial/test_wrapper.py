"""Tests of AdversarialAugmentationWrapper: the paper's Algorithm 1."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_parameters_default_constructible

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
)
from skmmat.adversarial import craft_adversarial

from .conftest import stack

#: every RecordingCNN fitted, in order, as a copy taken right after its fit
FITS = []


class RecordingCNN(MultiModalCNNClassifier):
    """A MultiModalCNNClassifier that remembers the data of its last fit."""

    def fit(self, X, y):
        super().fit(X, y)
        self.fit_X_ = X.copy()
        self.fit_y_ = np.asarray(y).copy()
        FITS.append(copy.deepcopy(self))
        return self


@pytest.fixture(scope="session")
def recording(cnn_params):
    """``recording(**params)``: an unfitted RecordingCNN of ``cnn_params``, for two epochs."""

    def recording(**params):
        return RecordingCNN(**{**cnn_params, "max_epochs": 2, **params})

    return recording


@pytest.fixture(autouse=True)
def _clear_fits():
    FITS.clear()
    yield
    FITS.clear()


def craft(model, X, y, **perturbers):
    perturbers = {
        "image_perturber": FGSMPerturber(),
        "text_perturber": WordSubstitutionPerturber(),
        **perturbers,
    }
    return craft_adversarial(model, X.reset_index(drop=True), y, **perturbers)


def assert_same_rows(a, b, columns=("image", "text", "tokens")):
    assert len(a) == len(b)
    for column in columns:
        if column == "tokens":
            assert list(a[column]) == list(b[column])
        else:
            np.testing.assert_array_equal(stack(a[column]), stack(b[column]))


def halves(model, n):
    X = model.fit_X_
    return X.iloc[:n], X.iloc[n:]


# ----------------------------------------------------------------------
# Algorithm 1
# ----------------------------------------------------------------------
def test_second_fit_sees_clean_rows_and_their_adversarial_copies(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(recording(), random_state=0).fit(X, y)
    assert len(FITS) == 2  # step 2 and step 7, nothing else
    initial, final = mmat.initial_estimator_, mmat.estimator_
    assert initial is not final
    # step 2: the clean data only
    assert len(initial.fit_X_) == n
    assert_same_rows(initial.fit_X_, X)
    np.testing.assert_array_equal(initial.fit_y_, y)
    # step 7: 2n rows, the clean ones then their adversarial copies with the same labels
    assert len(final.fit_X_) == 2 * n
    np.testing.assert_array_equal(final.fit_y_, np.concatenate([y, y]))
    clean, adversarial = halves(final, n)
    assert_same_rows(clean, X)
    # steps 3-5: crafted with the true labels against the first model
    assert_same_rows(adversarial, craft(initial, X, y))
    against_final = craft(final, X, y)
    assert not np.array_equal(stack(adversarial["image"]), stack(against_final["image"]))
    # the adversarial half really differs from the clean one, in both modalities
    assert (stack(adversarial["image"]) != stack(X["image"])).any()
    assert list(adversarial["tokens"]) != list(X["tokens"])
    # bookkeeping
    (record,) = mmat.rounds_
    assert record["round"] == 1 and record["n_samples"] == 2 * n
    assert record["attack_accuracy"] is None  # a pass Algorithm 1 does not need: off
    assert record["seconds"] > 0


def test_attack_accuracy_records_the_attacked_models_accuracy_on_its_examples(
    prepared, small_cnn, capsys
):
    X, y = prepared
    mmat = AdversarialAugmentationWrapper(
        small_cnn(), n_rounds=2, warm_start=True, attack_accuracy=True, random_state=0, verbose=1
    ).fit(X, y)
    plain = AdversarialAugmentationWrapper(
        small_cnn(), n_rounds=2, warm_start=True, random_state=0
    ).fit(X, y)
    # the first round attacks the clean model, with the true labels
    adversarial = craft_adversarial(
        mmat.initial_estimator_, X, y, image_perturber="default", text_perturber="default"
    )
    expected = np.mean(mmat.initial_estimator_.predict(adversarial) == y)
    assert mmat.rounds_[0]["attack_accuracy"] == pytest.approx(expected)
    assert isinstance(mmat.rounds_[1]["attack_accuracy"], float)
    printed = capsys.readouterr().out
    assert printed.count("accuracy under attack before retraining") == 2
    # recording it changes nothing else
    assert [r["attack_accuracy"] for r in plain.rounds_] == [None, None]
    np.testing.assert_array_equal(mmat.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("warm_start", [False, True])
def test_refit_validation_keeps_each_row_with_its_adversarial_twin(prepared, small_cnn, warm_start):
    X, y = prepared
    n = len(X)
    template = small_cnn(patience=3, max_epochs=3)
    mmat = AdversarialAugmentationWrapper(template, warm_start=warm_start, random_state=0)
    mmat.fit(X, y)
    split = mmat.estimator_.net_.train_split
    valid = set(split.valid_indices_.tolist())
    assert valid and all((i + n) % (2 * n) in valid for i in valid)  # twins together
    assert not valid & set(split.train_indices_.tolist())
    assert mmat.estimator_.validation_groups == "_mmat_pair"
    assert template.validation_groups is None  # the template is left alone
    # the plain model of step 2 splits by row, as the classifier does
    assert type(mmat.initial_estimator_.net_.train_split).__name__ == "ValidSplit"
    # an estimator that groups by a column of its own keeps it: the twin copies the value
    own = AdversarialAugmentationWrapper(
        small_cnn(patience=3, max_epochs=2, validation_groups="tweet_id"), random_state=0
    ).fit(X, y)
    assert own.estimator_.validation_groups == "tweet_id"


def test_initial_estimator_is_the_clean_model(prepared, small_cnn):
    X, y = prepared
    mmat = AdversarialAugmentationWrapper(small_cnn(), random_state=0).fit(X, y)
    initial = mmat.initial_estimator_
    assert type(initial) is MultiModalCNNClassifier
    # the same estimator fitted on the clean data alone, with the seed the wrapper gave it
    again = clone(initial).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), initial.predict_proba(X))
    assert not np.array_equal(mmat.estimator_.predict_proba(X), initial.predict_proba(X))


def test_estimator_template_is_not_modified(prepared, small_cnn):
    X, y = prepared
    template = small_cnn(random_state=None)
    params = template.get_params()
    AdversarialAugmentationWrapper(template, random_state=0).fit(X, y)
    assert not hasattr(template, "net_")
    assert template.get_params() == params


def test_two_rounds_craft_against_the_retrained_model(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(recording(), n_rounds=2, random_state=0).fit(X, y)
    assert len(FITS) == 3
    first, second, third = FITS
    assert [r["round"] for r in mmat.rounds_] == [1, 2]
    assert [r["n_samples"] for r in mmat.rounds_] == [2 * n, 2 * n]
    # round 1 against the clean model, round 2 against the model of round 1
    assert_same_rows(halves(second, n)[1], craft(first, X, y))
    assert_same_rows(halves(third, n)[1], craft(second, X, y))
    assert_same_rows(halves(third, n)[0], X)
    assert not np.array_equal(
        stack(halves(third, n)[1]["image"]), stack(craft(first, X, y)["image"])
    )
    np.testing.assert_array_equal(mmat.initial_estimator_.predict_proba(X), first.predict_proba(X))
    np.testing.assert_array_equal(mmat.estimator_.predict_proba(X), third.predict_proba(X))


def test_warm_start_continues_training(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(recording(), warm_start=True, random_state=0)
    mmat.fit(X, y)
    first, second = FITS
    initial, final = mmat.initial_estimator_, mmat.estimator_
    assert initial is not final
    assert len(initial.net_.history) == 2  # untouched
    assert len(final.net_.history) == 4  # two more epochs on top of the first two
    assert final.n_iter_ == 2
    assert len(final.fit_X_) == 2 * n
    # the clean model kept its weights
    a, b = initial.net_.module_.state_dict(), first.net_.module_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    np.testing.assert_array_equal(initial.predict_proba(X), first.predict_proba(X))
    assert_same_rows(halves(final, n)[1], craft(first, X, y))
    # two rounds: two more epochs each
    mmat = AdversarialAugmentationWrapper(
        recording(), warm_start=True, n_rounds=2, random_state=0
    ).fit(X, y)
    assert len(mmat.estimator_.net_.history) == 6
    assert len(mmat.initial_estimator_.net_.history) == 2


def test_warm_start_differs_from_a_fresh_refit(prepared, small_cnn):
    X, y = prepared
    warm = AdversarialAugmentationWrapper(small_cnn(), warm_start=True, random_state=0).fit(X, y)
    cold = AdversarialAugmentationWrapper(small_cnn(), random_state=0).fit(X, y)
    np.testing.assert_array_equal(
        warm.initial_estimator_.predict_proba(X), cold.initial_estimator_.predict_proba(X)
    )
    assert len(cold.estimator_.net_.history) == 3
    assert len(warm.estimator_.net_.history) == 6
    assert not np.array_equal(warm.predict_proba(X), cold.predict_proba(X))


# ----------------------------------------------------------------------
# modalities
# ----------------------------------------------------------------------
def test_image_perturber_none_only_perturbs_text(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(recording(), image_perturber=None, random_state=0)
    adversarial = halves(mmat.fit(X, y).estimator_, n)[1]
    np.testing.assert_array_equal(stack(adversarial["image"]), stack(X["image"]))
    assert list(adversarial["tokens"]) != list(X["tokens"])
    assert_same_rows(adversarial, craft(mmat.initial_estimator_, X, y, image_perturber=None))


def test_text_perturber_none_only_perturbs_images(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(recording(), text_perturber=None, random_state=0)
    adversarial = halves(mmat.fit(X, y).estimator_, n)[1]
    np.testing.assert_array_equal(stack(adversarial["text"]), stack(X["text"]))
    assert list(adversarial["tokens"]) == list(X["tokens"])
    assert (stack(adversarial["image"]) != stack(X["image"])).any()


def test_text_cnn_adv_skips_the_image_perturber(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(recording(modalities=("text",)), random_state=0)
    adversarial = halves(mmat.fit(X, y).estimator_, n)[1]
    np.testing.assert_array_equal(stack(adversarial["image"]), stack(X["image"]))
    assert list(adversarial["tokens"]) != list(X["tokens"])
    # no image column at all is fine too, and gives the very same model
    text_only = X.drop(columns="image")
    alone = AdversarialAugmentationWrapper(recording(modalities=("text",)), random_state=0)
    alone.fit(text_only, y)
    assert_same_rows(halves(alone.estimator_, n)[1], adversarial, columns=("text", "tokens"))
    np.testing.assert_array_equal(alone.predict_proba(text_only), mmat.predict_proba(X))
    with pytest.raises(ValueError, match="no perturber"):
        AdversarialAugmentationWrapper(recording(modalities=("text",)), text_perturber=None).fit(
            text_only, y
        )


def test_visual_cnn_adv_skips_the_text_perturber(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(recording(modalities=("image",)), random_state=0)
    adversarial = halves(mmat.fit(X, y).estimator_, n)[1]
    np.testing.assert_array_equal(stack(adversarial["text"]), stack(X["text"]))
    assert (stack(adversarial["image"]) != stack(X["image"])).any()


def test_custom_perturbers_are_used(prepared, recording):
    X, y = prepared
    n = len(X)
    mmat = AdversarialAugmentationWrapper(
        recording(),
        image_perturber=FGSMPerturber(eps=0.02),
        text_perturber=WordSubstitutionPerturber(threshold=0.0),
        random_state=0,
    ).fit(X, y)
    adversarial = halves(mmat.estimator_, n)[1]
    delta = np.abs(stack(adversarial["image"]) - stack(X["image"]))
    assert delta.max() <= 0.02 + 1e-6 and delta.max() > 0.01
    expected = craft(
        mmat.initial_estimator_,
        X,
        y,
        image_perturber=FGSMPerturber(eps=0.02),
        text_perturber=WordSubstitutionPerturber(threshold=0.0),
    )
    assert_same_rows(adversarial, expected)


# ----------------------------------------------------------------------
# prediction, delegation
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted(prepared, small_cnn):
    X, y = prepared
    return AdversarialAugmentationWrapper(small_cnn(), random_state=0).fit(X, y)


def test_perturbers_never_act_at_predict_time(fitted, prepared, monkeypatch):
    X, y = prepared
    expected = fitted.estimator_.predict_proba(X)

    def boom(*args, **kwargs):
        raise AssertionError("an attack ran at prediction time")

    monkeypatch.setattr(FGSMPerturber, "_craft_columns", boom)
    monkeypatch.setattr(WordSubstitutionPerturber, "_craft_columns", boom)
    monkeypatch.setattr(fitted.estimator_, "loss_gradient", boom)
    np.testing.assert_array_equal(fitted.predict_proba(X), expected)
    np.testing.assert_array_equal(fitted.predict(X), fitted.estimator_.predict(X))
    assert fitted.score(X, y) == pytest.approx(np.mean(fitted.estimator_.predict(X) == y))


def test_delegation(fitted, prepared):
    X, y = prepared
    est = fitted.estimator_
    np.testing.assert_array_equal(fitted.classes_, est.classes_)
    assert fitted.classes_.tolist() == ["informative", "not_informative"]
    np.testing.assert_array_equal(fitted.predict_proba(X), est.predict_proba(X))
    assert fitted.score(X, y) == est.score(X, y)
    a, b = fitted.loss_gradient(X, y), est.loss_gradient(X, y)
    assert set(a) == {"image", "text"}
    for m in a:
        np.testing.assert_array_equal(a[m], b[m])
    np.testing.assert_array_equal(fitted.loss_gradient(X)["text"], est.loss_gradient(X)["text"])
    assert fitted.input_shapes_ == est.input_shapes_
    # a fitted wrapper can itself be attacked
    out = FGSMPerturber(fitted).fit(X).craft(X, y)
    np.testing.assert_array_equal(
        stack(out["image"]), stack(FGSMPerturber(est).fit(X).craft(X, y)["image"])
    )


def test_unfitted_wrapper(prepared, small_cnn):
    X, _ = prepared
    mmat = AdversarialAugmentationWrapper(small_cnn())
    for method in ("predict", "predict_proba", "loss_gradient"):
        with pytest.raises(NotFittedError):
            getattr(mmat, method)(X)
    assert not hasattr(mmat, "input_shapes_")


def test_pickle_round_trip(fitted, prepared):
    X, _ = prepared
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


# ----------------------------------------------------------------------
# reproducibility, parameters
# ----------------------------------------------------------------------
def test_random_state_makes_fits_reproducible(prepared, small_cnn):
    X, y = prepared
    # the inner estimator has no seed of its own: the wrapper's seeds it
    template = small_cnn(random_state=None)
    a = AdversarialAugmentationWrapper(template, random_state=0).fit(X, y)
    b = AdversarialAugmentationWrapper(template, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(
        a.initial_estimator_.predict_proba(X), b.initial_estimator_.predict_proba(X)
    )
    c = AdversarialAugmentationWrapper(template, random_state=1).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_get_params_clone_and_set_params(small_cnn):
    mmat = AdversarialAugmentationWrapper(
        small_cnn(),
        image_perturber=FGSMPerturber(eps=0.2),
        text_perturber=WordSubstitutionPerturber(),
        n_rounds=2,
        random_state=3,
    )
    params = mmat.get_params(deep=True)
    for key in (
        "estimator",
        "image_perturber",
        "text_perturber",
        "n_rounds",
        "warm_start",
        "random_state",
        "verbose",
        "estimator__hidden_units",
        "image_perturber__eps",
        "text_perturber__threshold",
    ):
        assert key in params, key
    assert params["image_perturber__eps"] == 0.2
    cloned = clone(mmat)
    assert cloned.get_params(deep=False).keys() == mmat.get_params(deep=False).keys()
    assert cloned.image_perturber is not mmat.image_perturber
    assert cloned.image_perturber.eps == 0.2 and cloned.n_rounds == 2
    cloned.set_params(image_perturber__eps=0.3, estimator__hidden_units=8)
    assert cloned.image_perturber.eps == 0.3 and cloned.estimator.hidden_units == 8
    assert mmat.image_perturber.eps == 0.2 and mmat.estimator.hidden_units == 16
    assert "FGSMPerturber(eps=0.2)" in repr(mmat)


def test_methods_and_tags_follow_the_wrapped_estimator(small_cnn):
    svc = AdversarialAugmentationWrapper(SVC())
    assert not hasattr(svc, "predict_proba") and not hasattr(svc, "loss_gradient")
    assert hasattr(svc, "decision_function")
    assert get_tags(svc).input_tags.two_d_array and not get_tags(svc).input_tags.string
    probabilistic = AdversarialAugmentationWrapper(SVC(probability=True))
    assert hasattr(probabilistic, "predict_proba")
    cnn = AdversarialAugmentationWrapper(small_cnn())
    assert hasattr(cnn, "predict_proba") and hasattr(cnn, "loss_gradient")
    assert not hasattr(cnn, "decision_function")
    assert not get_tags(cnn).input_tags.two_d_array
    assert get_tags(cnn).estimator_type == "classifier"


def test_defaults_are_immutable_strings(prepared, small_cnn):
    """The defaults are "default" (the paper's attacks), never shared perturber objects."""
    a = AdversarialAugmentationWrapper(small_cnn())
    assert a.image_perturber == "default" and a.text_perturber == "default"
    check_parameters_default_constructible("AdversarialAugmentationWrapper", a)
    X, y = prepared
    default = AdversarialAugmentationWrapper(small_cnn(max_epochs=1), random_state=0).fit(X, y)
    explicit = AdversarialAugmentationWrapper(
        small_cnn(max_epochs=1),
        image_perturber=FGSMPerturber(),
        text_perturber=WordSubstitutionPerturber(),
        random_state=0,
    ).fit(X, y)
    np.testing.assert_array_equal(default.predict_proba(X), explicit.predict_proba(X))
    assert default.image_perturber == "default"  # fit resolved it without storing it
    skip_text = AdversarialAugmentationWrapper(
        small_cnn(max_epochs=1), text_perturber=None, random_state=0
    ).fit(X, y)
    assert not np.array_equal(skip_text.predict_proba(X), default.predict_proba(X))


def test_grid_search_over_perturber_and_estimator_parameters(demo, small_cnn):
    df = demo.iloc[:96]
    X, y = df[["image", "text"]], df["label"]
    pipe = make_pipeline(
        ImageResizer(size=(32, 32)),
        GloveSequencer(),
        AdversarialAugmentationWrapper(
            small_cnn(max_epochs=1), image_perturber=FGSMPerturber(), random_state=0
        ),
    )
    grid = GridSearchCV(
        pipe,
        {
            "adversarialaugmentationwrapper__image_perturber__eps": [0.05, 0.1],
            "adversarialaugmentationwrapper__estimator__hidden_units": [8],
        },
        cv=2,
        error_score="raise",
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 2
    # each score is that of the pipeline with those parameters, refitted here fold by fold
    for params, score in zip(grid.cv_results_["params"], grid.cv_results_["mean_test_score"]):
        model = clone(pipe).set_params(**params)
        expected = [
            clone(model).fit(X.iloc[train], y.iloc[train]).score(X.iloc[test], y.iloc[test])
            for train, test in StratifiedKFold(2).split(X, y)
        ]
        assert score == pytest.approx(np.mean(expected))
    best = grid.best_estimator_[-1]
    assert (
        best.image_perturber.eps
        == grid.best_params_["adversarialaugmentationwrapper__image_perturber__eps"]
    )
    assert best.estimator_.hidden_units == 8
    assert best.rounds_[0]["n_samples"] == 2 * len(df)
    # the template inside the search's own pipeline is untouched
    assert pipe[-1].image_perturber.eps == 0.1 and pipe[-1].estimator.hidden_units == 16
    assert grid.predict(X).shape == (len(df),)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_rounds": 0}, "n_rounds"),
        ({"n_rounds": 1.5}, "n_rounds"),
        ({"image_perturber": "fgsm"}, "image_perturber"),
        ({"text_perturber": FGSMPerturber}, "text_perturber"),
        ({"text_perturber": FGSMPerturber()}, "text_perturber"),
        ({"image_perturber": WordSubstitutionPerturber()}, "image_perturber"),
        ({"image_perturber": FGSMPerturber(eps=-1)}, "eps"),
        ({"estimator": None}, "estimator"),
        ({"estimator": SVC()}, "estimator"),
        (lambda cnn: {"estimator": FrozenEstimator(cnn()), "warm_start": True}, "warm_start"),
    ],
)
def test_bad_parameters(prepared, small_cnn, params, match):
    X, y = prepared
    if callable(params):  # a case that needs a model
        params = params(small_cnn)
    mmat = AdversarialAugmentationWrapper(**{"estimator": small_cnn(max_epochs=1), **params})
    with pytest.raises(ValueError, match=match):
        mmat.fit(X, y)


def test_bad_data(prepared, small_cnn):
    X, y = prepared
    mmat = AdversarialAugmentationWrapper(small_cnn(max_epochs=1))
    with pytest.raises(ValueError, match="DataFrame"):
        mmat.fit(stack(X["image"]), y)
    with pytest.raises(ValueError, match="labels"):
        mmat.fit(X, y[:-1])


def test_verbose_prints_one_line_per_round(prepared, capsys, small_cnn):
    X, y = prepared
    AdversarialAugmentationWrapper(small_cnn(max_epochs=1), n_rounds=2, verbose=1).fit(X, y)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "round" in ln]
    assert len(lines) == 2 and "1/2" in lines[0] and "2/2" in lines[1]


# ----------------------------------------------------------------------
# craft_adversarial: Algorithm 1, steps 3 to 5
# ----------------------------------------------------------------------
def count_gradients(monkeypatch, model):
    """Count the calls of ``model.loss_gradient`` (wrapped on the instance)."""
    calls = []
    real = model.loss_gradient

    def counted(X, y=None):
        calls.append(len(X))
        return real(X, y)

    monkeypatch.setattr(model, "loss_gradient", counted)
    return calls


@pytest.mark.parametrize("labelled", [True, False])
def test_craft_uses_one_gradient_for_both_modalities(mmn, prepared, monkeypatch, labelled):
    X, y = prepared
    labels = y if labelled else None
    gradient = mmn.loss_gradient(X, labels)  # the clean gradient
    image_p, text_p = FGSMPerturber(eps=0.1), WordSubstitutionPerturber(algorithm="exact")
    calls = count_gradients(monkeypatch, mmn)
    X_adv = craft_adversarial(mmn, X, labels, image_perturber=image_p, text_perturber=text_p)
    assert calls == [len(X)]
    # the templates are left as they were
    assert image_p.estimator is None and text_p.estimator is None
    assert not hasattr(image_p, "estimator_")
    # images: Equation (1) from that gradient; texts: Equation (2) from the same one
    fgsm = FGSMPerturber(mmn, eps=0.1).fit(X).craft(X, labels, gradient=gradient)
    words = WordSubstitutionPerturber(mmn, algorithm="exact").fit(X)
    words = words.craft(X, labels, gradient=gradient)
    np.testing.assert_array_equal(stack(X_adv["image"]), stack(fgsm["image"]))
    np.testing.assert_array_equal(stack(X_adv["text"]), stack(words["text"]))
    assert list(X_adv["tokens"]) == list(words["tokens"])
    # ... which is what each perturber crafts on its own at the clean input
    alone = FGSMPerturber(mmn, eps=0.1).fit(X).craft(X, labels)
    np.testing.assert_array_equal(stack(X_adv["image"]), stack(alone["image"]))
    assert X_adv.index.equals(X.index)
    assert X_adv["tweet_id"].tolist() == X["tweet_id"].tolist()


def test_craft_with_an_iterative_image_attack(mmn, prepared, monkeypatch):
    X, y = prepared
    calls = count_gradients(monkeypatch, mmn)
    X_adv = craft_adversarial(
        mmn,
        X,
        y,
        image_perturber=FGSMPerturber(n_iter=3, random_state=0),
        text_perturber=WordSubstitutionPerturber(algorithm="exact"),
    )
    assert len(calls) == 3 + 1  # three steps on the images, one gradient for the texts
    monkeypatch.undo()
    # the text is still crafted from the gradient at the clean input
    words = WordSubstitutionPerturber(mmn, algorithm="exact").fit(X).craft(X, y)
    np.testing.assert_array_equal(stack(X_adv["text"]), stack(words["text"]))
    pgd = FGSMPerturber(mmn, n_iter=3, random_state=0).fit(X).craft(X, y)
    np.testing.assert_array_equal(stack(X_adv["image"]), stack(pgd["image"]))


def test_craft_skips_modalities_the_estimator_does_not_read(
    text_cnn, visual_cnn, prepared, monkeypatch
):
    X, y = prepared
    both = {"image_perturber": FGSMPerturber(), "text_perturber": WordSubstitutionPerturber()}
    calls = count_gradients(monkeypatch, text_cnn)
    X_adv = craft_adversarial(text_cnn, X, y, **both)
    assert len(calls) == 1
    np.testing.assert_array_equal(stack(X_adv["image"]), stack(X["image"]))
    assert list(X_adv["tokens"]) != list(X["tokens"])
    # nothing to attack: an unchanged copy, and no gradient at all
    calls.clear()
    X_same = craft_adversarial(text_cnn, X, y, image_perturber=FGSMPerturber())
    assert calls == []
    assert X_same is not X
    assert_same_rows(X_same, X)
    # a Visual-CNN: the texts stay
    X_adv = craft_adversarial(visual_cnn, X, y, **both)
    np.testing.assert_array_equal(stack(X_adv["text"]), stack(X["text"]))
    assert (stack(X_adv["image"]) != stack(X["image"])).any()
    # the image column need not exist for a Text-CNN
    craft_adversarial(text_cnn, X.drop(columns="image"), y, **both)


def test_craft_errors(mmn, prepared):
    X, y = prepared
    with pytest.raises(ValueError, match="image_perturber"):
        craft_adversarial(mmn, X, y, image_perturber=WordSubstitutionPerturber())
    with pytest.raises(ValueError, match="text_perturber"):
        craft_adversarial(mmn, X, y, text_perturber=FGSMPerturber())
    with pytest.raises(ValueError, match="eps"):
        craft_adversarial(mmn, X, y, image_perturber=FGSMPerturber(eps=-1))
    with pytest.raises(ValueError, match="modalities"):
        craft_adversarial(SVC(), X, y, image_perturber=FGSMPerturber())
