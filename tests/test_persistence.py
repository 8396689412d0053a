"""save_model / load_model (pickle-free safetensors files) and resumable training."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

import skmmat
from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    load_model,
    make_crisis_tweets,
    save_model,
)
from skmmat._persistence._format import checksum as _checksum
from skmmat.embeddings import WordVectors, load_vectors


@pytest.fixture(scope="session")
def small(tiny_params):
    """``tiny_params``, seeded, on one thread."""
    return {**tiny_params, "n_threads": 1, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    df = make_crisis_tweets(120, random_state=0)
    return df[["image", "text"]], df["label"]


@pytest.fixture(scope="module")
def text_data(data):
    X, y = data
    return GloveSequencer().fit_transform(X[["text"]]), y


@pytest.fixture(scope="module")
def pipe(data, small):
    """Image + text pipeline on the bundled GloVe table."""
    X, y = data
    model = make_pipeline(
        ImageResizer(size=(32, 32), n_jobs=1),
        GloveSequencer(),
        MultiModalCNNClassifier(max_epochs=2, patience=2, **small),
    )
    return model.fit(X, y)


@pytest.fixture(scope="module")
def pipe_file(pipe, tmp_path_factory):
    return save_model(pipe, tmp_path_factory.mktemp("models") / "pipe.safetensors")


def read_file(path):
    with safe_open(str(path), framework="pt") as f:
        return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def rewrite(path, metadata, tensors, *, fix_checksum):
    if fix_checksum:
        metadata = dict(metadata, **{"skmmat.sha256": _checksum(metadata["skmmat"], tensors)})
    save_file(tensors, str(path), metadata=metadata)


# ----------------------------------------------------------------------
# round trips
# ----------------------------------------------------------------------
def test_pipeline_round_trip_is_identical(pipe, pipe_file, data):
    X, y = data
    loaded = load_model(pipe_file)
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    assert repr(loaded) == repr(pipe)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    clf, clf2 = pipe[-1], loaded[-1]
    Xp = pipe[:-1].transform(X)
    g, g2 = clf.loss_gradient(Xp, y), clf2.loss_gradient(Xp, y)
    assert set(g) == set(g2) == {"image", "text"}
    for m in g:
        np.testing.assert_array_equal(g[m], g2[m])
    assert clf2.input_shapes_ == clf.input_shapes_ == {"image": (32, 32, 3), "text": (15, 50)}
    assert clf2.architecture_ == clf.architecture_
    assert clf2.n_iter_ == clf.n_iter_
    assert len(clf2.net_.history) == len(clf.net_.history)
    np.testing.assert_array_equal(clf2.classes_, clf.classes_)
    assert clf2.classes_.dtype == clf.classes_.dtype
    # the bundled table is referenced, not copied, and is the process-wide one
    assert loaded[1].vectors_ is load_vectors("glove-6b-50d")
    assert loaded[0].output_shape_ == (32, 32, 3)
    assert loaded[1].oov_rate_ == pipe[1].oov_rate_


def test_file_layout(pipe_file):
    metadata, tensors = read_file(pipe_file)
    assert set(metadata) == {"skmmat", "skmmat.sha256"}
    doc = json.loads(metadata["skmmat"])
    assert doc["format_version"] == 2
    assert doc["skmmat_version"] == skmmat.__version__
    tree = doc["estimator"]
    assert tree["class"] == "sklearn.pipeline.Pipeline"
    assert [step[1]["class"] for step in tree["steps"]] == [
        "skmmat.ImageResizer",
        "skmmat.GloveSequencer",
        "skmmat.MultiModalCNNClassifier",
    ]
    clf = tree["steps"][2][1]
    assert clf["params"]["image_filters"] == {"__tuple__": [4, 8]}
    fitted = clf["fitted"]
    assert fitted["classes_"] == {
        "__array__": {"dtype": "|O", "values": ["informative", "not_informative"]}
    }
    # the weights are tensors named after their attribute path
    weights = fitted["module"]["__dict__"]
    assert weights["head.1.weight"] == {"__tensor__": "steps.2.module.head.1.weight"}
    assert set(tensors) == {w["__tensor__"] for w in weights.values()}
    assert tree["steps"][1][1]["fitted"]["vectors_"] == {"__table__": 0}
    assert doc["tables"] == [
        {
            "fingerprint": load_vectors("glove-6b-50d").fingerprint,
            "dim": 50,
            "n_words": 400_000,
            "source": "glove-6b-50d",
        }
    ]
    assert "steps.2.module.visual.features.0.weight" in tensors
    assert all(name.startswith("steps.2.module.") for name in tensors)
    assert len(metadata["skmmat.sha256"]) == 64


def test_loading_uses_no_pickle(pipe_file, data, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must not be used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    model = load_model(pipe_file)
    assert model.predict_proba(data[0].iloc[:3]).shape == (3, 2)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["flood", "fire"], dtype=object),
        np.array(["flood", "fire"]),  # fixed-width unicode
        np.array([3, 7]),
        np.array([True, False]),
        np.array([0.5, 2.0]),
    ],
    ids=["object", "unicode", "int", "bool", "float"],
)
def test_bare_classifier_keeps_label_dtype(text_data, labels, tmp_path, small):
    X, y = text_data
    y = labels[(y == "informative").to_numpy().astype(int)]
    clf = MultiModalCNNClassifier(modalities="text", max_epochs=1, patience=None, **small)
    clf.fit(X, y)
    loaded = load_model(save_model(clf, tmp_path / "clf.safetensors"))
    assert type(loaded) is MultiModalCNNClassifier
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    pred = loaded.predict(X)
    assert pred.dtype == clf.predict(X).dtype
    np.testing.assert_array_equal(pred, clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params() == clf.get_params()


def test_wrapper_with_in_memory_table_round_trip(data, tmp_path, small):
    """MMAT in a pipeline; the {word: vector} table is stored once as a tensor."""
    X, y = data
    glove = load_vectors("glove-6b-50d")
    words = sorted({w for t in GloveSequencer().fit_transform(X[["text"]])["tokens"] for w in t})
    words = [w for w in words if glove.lookup([w])[0] >= 0]
    mapping = {w: glove.vectors[glove.lookup([w])[0]] for w in words}
    table = WordVectors(list(mapping), np.stack(list(mapping.values())))
    model = make_pipeline(
        ImageResizer(size=(32, 32), n_jobs=1),
        GloveSequencer(vectors=mapping),
        AdversarialAugmentationWrapper(
            MultiModalCNNClassifier(max_epochs=1, patience=None, **small),
            image_perturber=FGSMPerturber(eps=0.05),
            text_perturber=WordSubstitutionPerturber(vectors=table, n_candidates=3),
            random_state=0,
        ),
    ).fit(X, y)
    path = save_model(model, tmp_path / "mmat.safetensors")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    wrapper, wrapper2 = model[-1], loaded[-1]
    assert wrapper2.rounds_ == wrapper.rounds_
    Xp = model[:-1].transform(X)
    np.testing.assert_array_equal(
        wrapper2.initial_estimator_.predict_proba(Xp), wrapper.initial_estimator_.predict_proba(Xp)
    )
    np.testing.assert_array_equal(
        wrapper2.loss_gradient(Xp)["text"], wrapper.loss_gradient(Xp)["text"]
    )
    assert isinstance(wrapper2.text_perturber, WordSubstitutionPerturber)
    assert wrapper2.image_perturber.get_params() == wrapper.image_perturber.get_params()
    # one table, shared by the sequencer and the perturber
    metadata, tensors = read_file(path)
    doc = json.loads(metadata["skmmat"])
    assert len(doc["tables"]) == 1 and doc["tables"][0]["words"] == list(mapping)
    np.testing.assert_array_equal(tensors["tables.0.vectors"].numpy(), table.vectors)
    assert loaded[1].vectors_ is wrapper2.text_perturber.vectors
    np.testing.assert_array_equal(loaded[1].vectors_.vectors, table.vectors)
    assert any(k.startswith("steps.2.estimator_.module.") for k in tensors)
    assert any(k.startswith("steps.2.initial_estimator_.module.") for k in tensors)


@pytest.mark.usefixtures("tmp_cache")
def test_file_table_is_referenced_and_checked(text_data, tmp_path, small):
    X, y = text_data
    source = tmp_path / "vectors.txt"
    rng = np.random.default_rng(0)
    lines = [f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=8)) for w in ("flood", "fire")]
    source.write_text("\n".join(lines) + "\n")
    raw = pd.DataFrame({"text": ["flood fire", "fire", "flood"] * 10})
    labels = np.array(["a", "b", "a"] * 10)
    model = make_pipeline(
        GloveSequencer(vectors=str(source)),
        MultiModalCNNClassifier(modalities="text", max_epochs=1, patience=None, **small),
    ).fit(raw, labels)
    path = save_model(model, tmp_path / "m.safetensors")
    doc = json.loads(read_file(path)[0]["skmmat"])
    assert doc["tables"][0]["source"] == str(source.resolve())
    np.testing.assert_array_equal(load_model(path).predict_proba(raw), model.predict_proba(raw))
    source.write_text(lines[0] + "\n")  # the table changed since the fit
    with pytest.raises(ValueError, match="differs from the one the model was fitted with"):
        load_model(path)
    source.unlink()
    with pytest.raises(FileNotFoundError, match="vectors.txt"):
        load_model(path)


def test_device_override(text_data, tmp_path, small):
    X, y = text_data
    clf = MultiModalCNNClassifier(modalities="text", max_epochs=1, patience=None, **small)
    clf.fit(X, y)
    loaded = load_model(save_model(clf, tmp_path / "c.safetensors"), device=torch.device("cpu"))
    assert loaded.device == torch.device("cpu")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# ----------------------------------------------------------------------
# refusals
# ----------------------------------------------------------------------
def test_modified_tensor_bytes_are_detected(pipe_file, tmp_path):
    metadata, tensors = read_file(pipe_file)
    name = "steps.2.module.head.4.bias"
    tensors[name] = tensors[name].clone()
    tensors[name][0] += 1e-3
    path = tmp_path / "tampered.safetensors"
    rewrite(path, metadata, tensors, fix_checksum=False)
    with pytest.raises(ValueError, match="checksum mismatch: the file was modified or corrupted"):
        load_model(path)


def test_flipped_byte_is_detected(pipe_file, tmp_path):
    raw = bytearray(pipe_file.read_bytes())
    raw[-5] ^= 0x01  # inside the last tensor's data
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_model(path)


def test_modified_document_is_detected(pipe_file, tmp_path):
    metadata, tensors = read_file(pipe_file)
    doc = json.loads(metadata["skmmat"])
    doc["estimator"]["steps"][2][1]["params"]["hidden_units"] = 9
    path = tmp_path / "tampered.safetensors"
    rewrite(path, dict(metadata, skmmat=json.dumps(doc)), tensors, fix_checksum=False)
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_model(path)


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "sklearn.svm.SVC"])
def test_classes_outside_the_allow_list_are_refused(pipe_file, tmp_path, name):
    metadata, tensors = read_file(pipe_file)
    doc = json.loads(metadata["skmmat"])
    doc["estimator"]["steps"][0][1]["class"] = name
    path = tmp_path / "evil.safetensors"
    rewrite(path, dict(metadata, skmmat=json.dumps(doc)), tensors, fix_checksum=True)
    with pytest.raises(ValueError, match="not allowed"):
        load_model(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["steps"][1][1]["params"].update(tokenizer="os.system"), "tokenizer"),
        (lambda d: d["steps"][1][1]["params"].update(max_len=-1), "max_len"),
        (
            lambda d: d["steps"][2][1]["fitted"]["classes_"]["__array__"].update(
                dtype="[('a', 'O')]"
            ),
            "dtype",
        ),
        (lambda d: d["steps"][2][1]["params"].update(hidden_units={"__code__": "x"}), "tag"),
    ],
    ids=["callable-as-string", "bad-value", "dtype", "unknown-tag"],
)
def test_invalid_documents_are_refused(pipe_file, tmp_path, edit, message):
    """Even with a valid checksum, parameters are validated and tags are closed."""
    metadata, tensors = read_file(pipe_file)
    doc = json.loads(metadata["skmmat"])
    edit(doc["estimator"])
    path = tmp_path / "edited.safetensors"
    rewrite(path, dict(metadata, skmmat=json.dumps(doc)), tensors, fix_checksum=True)
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_other_files_are_refused(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ValueError, match="not a skmmat model file"):
        load_model(path)
    path.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load_model(path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.safetensors")


def test_newer_format_version_is_refused(pipe_file, tmp_path):
    metadata, tensors = read_file(pipe_file)
    doc = json.loads(metadata["skmmat"])
    doc["format_version"] = 99
    path = tmp_path / "future.safetensors"
    rewrite(path, dict(metadata, skmmat=json.dumps(doc)), tensors, fix_checksum=True)
    with pytest.raises(ValueError, match="format version 99"):
        load_model(path)


def test_unsafe_parameters_are_refused_at_save_time(data, tmp_path):
    X, y = data
    seq = GloveSequencer(tokenizer=str.split).fit(X[["text"]])
    with pytest.raises(ValueError, match="'tokenizer'.*str.split"):
        save_model(seq, tmp_path / "x.safetensors")
    seq = GloveSequencer(tokenizer=lambda s: s.split()).fit(X[["text"]])
    with pytest.raises(ValueError, match="'tokenizer'"):
        save_model(make_pipeline(seq), tmp_path / "x.safetensors")
    clf = MultiModalCNNClassifier(random_state=np.random.RandomState(0))
    with pytest.raises(ValueError, match="'random_state'.*RandomState"):
        save_model(clf, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_unsupported_estimators_are_refused_at_save_time(text_data, tmp_path, small):
    X, y = text_data

    class MyClassifier(MultiModalCNNClassifier):
        pass

    clf = MyClassifier(modalities="text", max_epochs=1, patience=None, **small).fit(X, y)
    with pytest.raises(ValueError, match="MyClassifier is not a class skmmat can save"):
        save_model(clf, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="step 'standardscaler'.*StandardScaler"):
        save_model(make_pipeline(StandardScaler()), tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="not fitted"):
        save_model(MultiModalCNNClassifier(), tmp_path / "x.safetensors")


# ----------------------------------------------------------------------
# resumable training
# ----------------------------------------------------------------------
class _Interrupt(Callback):
    """Raise KeyboardInterrupt after epoch ``at`` (skorch stops training on it)."""

    def __init__(self, at=None):
        self.at = at

    def on_epoch_end(self, net, **kwargs):
        if self.at is not None and len(net.history) == self.at:
            raise KeyboardInterrupt


class _CountEpochs(Callback):
    def initialize(self):
        self.epochs_run = 0
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_run += 1


def InterruptibleClassifier(interrupt_at=None, **params):  # noqa: N802 - reads as a class
    """A classifier whose training counts its epochs and is interrupted at one."""
    callbacks = [("count", _CountEpochs()), ("interrupt", _Interrupt(interrupt_at))]
    return MultiModalCNNClassifier(callbacks=callbacks, **params)


def epochs_run(clf):
    return dict(clf.net_.callbacks_)["count"].epochs_run


def fit_interrupted(params, X, y, at):
    return InterruptibleClassifier(interrupt_at=at, **params).fit(X, y)


def assert_same_model(a, b, X):
    for (k, v), (k2, v2) in zip(
        a.net_.module_.state_dict().items(), b.net_.module_.state_dict().items()
    ):
        assert k == k2
        torch.testing.assert_close(v, v2, rtol=0, atol=0)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert [h["train_loss"] for h in a.net_.history] == [h["train_loss"] for h in b.net_.history]


@pytest.fixture(scope="session")
def text_params(small):
    """A small Text-CNN at lr 1e-2, for the resumable-training tests."""
    return {**small, "modalities": "text", "lr": 1e-2}


def test_interrupted_fit_resumes_and_equals_uninterrupted_run(text_data, tmp_path, text_params):
    X, y = text_data
    params = {**text_params, "max_epochs": 6, "patience": None}
    reference = MultiModalCNNClassifier(**params).fit(X, y)
    params["checkpoint_dir"] = tmp_path / "ckpt"
    first = fit_interrupted(params, X, y, at=3)
    assert first.n_iter_ == 3 and epochs_run(first) == 3
    assert len(list((tmp_path / "ckpt").glob("skmmat-fit-*.pt"))) == 1

    resumed = InterruptibleClassifier(**params).fit(X, y)
    assert resumed.resumed_epochs_ == 3
    assert epochs_run(resumed) == 3  # only the remaining epochs
    assert resumed.n_iter_ == reference.n_iter_ == 6
    assert_same_model(resumed, reference, X)

    # a finished run is restored without training
    again = InterruptibleClassifier(**params).fit(X, y)
    assert again.resumed_epochs_ == 6 and epochs_run(again) == 0
    assert_same_model(again, reference, X)

    # more epochs continue the same run: equal to 8 uninterrupted epochs
    longer = InterruptibleClassifier(**{**params, "max_epochs": 8}).fit(X, y)
    assert longer.resumed_epochs_ == 6 and epochs_run(longer) == 2
    reference8 = MultiModalCNNClassifier(**{**params, "max_epochs": 8, "checkpoint_dir": None})
    assert_same_model(longer, reference8.fit(X, y), X)


def test_early_stopping_state_survives_the_interruption(text_data, tmp_path, text_params):
    X, y = text_data
    params = {**text_params, "max_epochs": 30, "patience": 2}
    reference = MultiModalCNNClassifier(**params).fit(X, y)
    stop = reference.n_iter_
    assert stop < 30, "the reference run should stop early"
    best = max(h["epoch"] for h in reference.net_.history if h["valid_loss_best"])
    assert best == stop - 2
    params["checkpoint_dir"] = tmp_path
    # interrupted one epoch before early stopping: one miss already counted
    first = fit_interrupted(params, X, y, at=stop - 1)
    assert first.n_iter_ == stop - 1
    resumed = InterruptibleClassifier(**params).fit(X, y)
    assert epochs_run(resumed) == 1  # the miss counter survived: stops after one epoch
    assert resumed.n_iter_ == stop
    assert_same_model(resumed, reference, X)  # and the best weights were restored
    # the stopped run is final: refitting restores it without training
    again = InterruptibleClassifier(**params).fit(X, y)
    assert epochs_run(again) == 0 and again.n_iter_ == stop
    assert_same_model(again, reference, X)


def test_checkpoint_file_holds_only_tensors_and_plain_data(text_data, tmp_path, text_params):
    X, y = text_data
    params = {**text_params, "max_epochs": 2, "patience": 2, "checkpoint_dir": str(tmp_path)}
    MultiModalCNNClassifier(**params).fit(X, y)
    (path,) = tmp_path.glob("skmmat-fit-*.pt")
    state = torch.load(path, weights_only=True)
    assert state["status"] == "running"
    assert set(state) >= {"module", "optimizer", "history", "torch_rng", "generator"}
    assert len(json.loads(state["history"])) == 2
    assert state["early_stopping"]["best_weights"].keys() == state["module"].keys()


def test_other_data_or_parameters_start_a_new_run(text_data, tmp_path, text_params):
    X, y = text_data
    params = {**text_params, "max_epochs": 2, "patience": None, "checkpoint_dir": tmp_path}
    InterruptibleClassifier(**params).fit(X, y)
    other_data = InterruptibleClassifier(**params).fit(X.iloc[:-4], y.iloc[:-4])
    other_params = InterruptibleClassifier(**{**params, "lr": 5e-3}).fit(X, y)
    for clf in (other_data, other_params):
        assert clf.resumed_epochs_ == 0 and epochs_run(clf) == 2
    assert len(list(tmp_path.glob("skmmat-fit-*.pt"))) == 3


def test_unreadable_checkpoint_raises_naming_it(text_data, tmp_path, text_params):
    X, y = text_data
    params = {**text_params, "max_epochs": 1, "patience": None, "checkpoint_dir": tmp_path}
    MultiModalCNNClassifier(**params).fit(X, y)
    (path,) = tmp_path.glob("skmmat-fit-*.pt")
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=path.name):
        MultiModalCNNClassifier(**params).fit(X, y)


def test_bad_checkpoint_dir_raises():
    with pytest.raises(ValueError, match="checkpoint_dir"):
        MultiModalCNNClassifier(checkpoint_dir=3)._validate_params()
