"""The model card inside a model file: what save_model writes, model_card reads and refuses."""

import json

import numpy as np
import pytest
from safetensors import safe_open
from sklearn.pipeline import make_pipeline

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    load_model,
    make_crisis_tweets,
    model_card,
    save_model,
)
from skmmat.embeddings import load_vectors


@pytest.fixture(scope="module")
def data():
    df = make_crisis_tweets(80, random_state=0)
    return df[["image", "text"]], df["label"]


@pytest.fixture(scope="module")
def small(tiny_params):
    return {**tiny_params, "n_threads": 1, "random_state": 0, "max_epochs": 2}


@pytest.fixture(scope="module")
def pipe(data, small):
    X, y = data
    return make_pipeline(
        ImageResizer(size=(32, 32), n_jobs=1), GloveSequencer(), MultiModalCNNClassifier(**small)
    ).fit(X, y)


def test_card_describes_the_model(pipe, tmp_path):
    training = {"rows_per_event": {"srilanka_floods": 80}, "task": "informative"}
    path = save_model(pipe, tmp_path / "m.safetensors", card={"training": training})
    card = model_card(path)
    assert card["estimator"] == "Pipeline(ImageResizer, GloveSequencer, MultiModalCNNClassifier)"
    assert card["classes"] == ["informative", "not_informative"]
    assert card["input_shapes"] == {"image": [32, 32, 3], "text": [15, 50]}
    table = load_vectors("glove-6b-50d")
    assert card["embedding"] == [
        {"source": "glove-6b-50d", "fingerprint": table.fingerprint, "dim": 50, "n_words": 400000}
    ]
    params = card["parameters"]
    assert params["multimodalcnnclassifier__hidden_units"] == pipe[-1].hidden_units
    assert params["multimodalcnnclassifier__modalities"] == ["image", "text"]
    assert params["imageresizer__size"] == [32, 32]
    assert "steps" not in params and "multimodalcnnclassifier" not in params
    assert card["training"] == training
    assert card["skmmat_version"] == __import__("skmmat").__version__
    assert card["signature"] is None
    # the card lives in the checksummed document, beside the estimator tree
    with safe_open(str(path), framework="pt") as f:
        doc = json.loads(f.metadata()["skmmat"])
    assert doc["card"] == {k: v for k, v in card.items() if k != "signature"}


def test_wrapper_card_reads_through_to_the_network(data, small, tmp_path):
    X, y = data
    Xp = GloveSequencer().fit_transform(X[["text"]])
    wrapper = AdversarialAugmentationWrapper(
        MultiModalCNNClassifier(modalities=("text",), **small),
        image_perturber=FGSMPerturber(),
        text_perturber=WordSubstitutionPerturber(),
        random_state=0,
    ).fit(Xp, y)
    card = model_card(save_model(wrapper, tmp_path / "w.safetensors"))
    assert card["estimator"] == "AdversarialAugmentationWrapper(MultiModalCNNClassifier)"
    assert card["input_shapes"] == {"text": [15, 50]}
    assert card["parameters"]["text_perturber__eps"] == 0.1
    assert card["parameters"]["estimator__modalities"] == ["text"]
    assert card["embedding"] == []  # the wrapper takes sequenced text: no table of its own


def test_numpy_values_in_a_card_are_stored_as_plain_json(pipe, tmp_path):
    card = {"evaluation": {"accuracy": np.float32(0.5), "rows": np.int64(8), "classes": ("a",)}}
    path = save_model(pipe, tmp_path / "m.safetensors", card=card)
    assert model_card(path)["evaluation"] == {"accuracy": 0.5, "rows": 8, "classes": ["a"]}


@pytest.mark.parametrize(
    "card, message",
    [
        ({"classes": ["x"]}, "card entry 'classes' is written by save_model itself"),
        ({"evaluation": {"f1": float("nan")}}, r"card\['evaluation'\]\['f1'\] is nan"),
        ({"training": {"fit": print}}, r"card\['training'\]\['fit'\] holds a .*function"),
        ({"training": {1: "a"}}, r"card\['training'\] has the key 1"),
        (["not", "a", "dict"], "card must be a dict"),
    ],
)
def test_bad_cards_are_refused_naming_the_entry(pipe, tmp_path, card, message):
    with pytest.raises(ValueError, match=message):
        save_model(pipe, tmp_path / "m.safetensors", card=card)
    assert not (tmp_path / "m.safetensors").exists()


def test_model_card_refuses_what_load_model_refuses(pipe, tmp_path):
    path = save_model(pipe, tmp_path / "m.safetensors")
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="model_card: checksum mismatch"):
        model_card(path)
    with pytest.raises(ValueError, match="load_model: checksum mismatch"):
        load_model(path)
