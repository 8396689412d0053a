"""skmmat.experiments.make_table1_model: Table I's six models."""

import pytest

from skmmat import AdversarialAugmentationWrapper, MultiModalCNNClassifier
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
