"""Pickle-free persistence: :func:`save_model`, :func:`load_model` and training checkpoints.

A saved model is one `safetensors <https://huggingface.co/docs/safetensors>`_
file. Its tensors are the torch weights, named after the attribute path of
the model they belong to (``steps.2.estimator_.module.visual.fc.weight``);
its ``__metadata__`` holds

* ``"skmmat"``: a JSON document with the format version, the skmmat
  version and the estimator tree (class names from an allow-list, parameters
  and the fitted attributes inference needs);
* ``"skmmat.sha256"``: a SHA-256 checksum over the JSON document and every
  tensor's name, dtype, shape and bytes.

Loading parses JSON and raw tensor bytes only, instantiates classes from the
allow-list only and never imports a name read from the file, so it executes
no code from the file. The checksum detects accidental modification or
corruption; it does not authenticate the author (anyone can recompute it),
so sign files to guard against malicious ones.

Training checkpoints (``MultiModalCNNClassifier(checkpoint_dir=...)``) are
written with :func:`torch.save` and read back with
``torch.load(weights_only=True)``, which unpickles tensors and plain
containers only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import numbers
import os
import re
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

__all__ = ["save_model", "load_model"]

#: Version of the JSON document; bumped on incompatible changes.
FORMAT_VERSION = 1
_DOC_KEY = "skmmat"
_SUM_KEY = "skmmat.sha256"
_PIPELINE = "sklearn.pipeline.Pipeline"


def _registry():
    """Allow-list: the only classes a model file may name (imported here, lazily)."""
    from sklearn.pipeline import Pipeline

    from .adversarial import (
        AdversarialAugmentationWrapper,
        FGSMPerturber,
        WordSubstitutionPerturber,
    )
    from .models import MultiModalCNNClassifier
    from .preprocessing import GloveSequencer, ImageResizer

    return {
        _PIPELINE: Pipeline,
        "skmmat.MultiModalCNNClassifier": MultiModalCNNClassifier,
        "skmmat.AdversarialAugmentationWrapper": AdversarialAugmentationWrapper,
        "skmmat.ImageResizer": ImageResizer,
        "skmmat.GloveSequencer": GloveSequencer,
        "skmmat.FGSMPerturber": FGSMPerturber,
        "skmmat.WordSubstitutionPerturber": WordSubstitutionPerturber,
    }


def _class_name(est, registry):
    for name, cls in registry.items():
        if type(est) is cls:  # exact class: subclasses may hold code we cannot restore
            return name
    return None


def _checksum(document, tensors):
    """SHA-256 over the JSON document and every tensor (name, dtype, shape, bytes)."""
    digest = hashlib.sha256()
    digest.update(b"skmmat-model\0")
    digest.update(document.encode("utf-8"))
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(b"\0" + name.encode("utf-8") + b"\0")
        digest.update(f"{t.dtype}|{tuple(t.shape)}\0".encode())
        digest.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


# ----------------------------------------------------------------------
# saving
# ----------------------------------------------------------------------
class _Writer:
    """Walks an estimator tree into a JSON-able document and a dict of tensors."""

    def __init__(self):
        self.registry = _registry()
        self.tensors = {}
        self.tables = []  # JSON entries
        self._table_ids = {}  # fingerprint -> index

    # values -------------------------------------------------------------
    def value(self, value, where):
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return self.value(value.item(), where)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                return {"__float__": repr(value)}
            return value
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, os.PathLike):
            return {"__path__": os.fspath(value)}
        if _class_name(value, self.registry) is not None:
            return {"__estimator__": self.node(value, where, fitted=False)}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}}
        if callable(value):
            what = f"the callable {getattr(value, '__qualname__', type(value).__name__)}"
        elif hasattr(value, "get_params"):
            what = (
                f"an instance of {type(value).__module__}.{type(value).__qualname__}, "
                "which is not a class skmmat can save"
            )
        else:
            what = f"a {type(value).__module__}.{type(value).__qualname__}"
        raise ValueError(
            f"save_model: cannot save {where}: it holds {what}. Only numbers, "
            "strings, tuples, lists, dicts and skmmat estimators are stored (no pickle); "
            "set the parameter to such a value before saving."
        )

    def table(self, table, where):
        """Register a word-vector table; return its index in the document's tables."""
        from .embeddings import WordVectors, load_vectors

        if not isinstance(table, WordVectors):
            table = load_vectors(table)
        key = table.fingerprint
        if key in self._table_ids:
            return self._table_ids[key]
        index = len(self.tables)
        entry = {"fingerprint": key, "dim": int(table.dim), "n_words": len(table)}
        source = table.source
        if source is not None and isinstance(source, str | os.PathLike):
            entry["source"] = os.fspath(source)
        else:
            words = [str(w) for w in table.words]
            entry["words"] = words
            entry["tensor"] = f"tables.{index}.vectors"
            self.tensors[entry["tensor"]] = torch.from_numpy(np.array(table.vectors))
        self.tables.append(entry)
        self._table_ids[key] = index
        return index

    def params(self, est, owner):
        from .embeddings import WordVectors

        out = {}
        for key, val in est.get_params(deep=False).items():
            here = f"parameter {key!r} of {owner}"
            if key == "vectors" and isinstance(val, WordVectors | Mapping):
                if isinstance(val, WordVectors) and isinstance(val.source, str):
                    out[key] = val.source  # a bundled name or a file path
                else:
                    out[key] = {"__table__": self.table(val, here)}
            elif key == "random_state" and isinstance(val, np.random.RandomState):
                raise ValueError(
                    f"save_model: cannot save {here}: it holds a RandomState "
                    "instance, whose state would be lost; use an int or None."
                )
            else:
                out[key] = self.value(val, here)
        return out

    # estimators ------------------------------------------------------------
    def node(self, est, where, *, fitted, prefix=""):
        name = _class_name(est, self.registry)
        kind = f"{type(est).__module__}.{type(est).__qualname__}"
        if name is None:
            raise ValueError(
                f"save_model: cannot save {where or 'the estimator'}: {kind} is not a class "
                f"skmmat can save (allowed: {sorted(self.registry)})."
            )
        owner = type(est).__name__ + (f" ({where})" if where else "")
        if name == _PIPELINE:
            return self.pipeline(est, owner, fitted=fitted, prefix=prefix)
        node = {"class": name, "params": self.params(est, owner)}
        if fitted:
            node["fitted"] = self.fitted(est, name, owner, prefix)
        return node

    def pipeline(self, pipe, owner, *, fitted, prefix):
        params = {}
        for key, val in pipe.get_params(deep=False).items():
            if key != "steps":
                params[key] = self.value(val, f"parameter {key!r} of {owner}")
        steps = []
        for i, (step_name, step) in enumerate(pipe.steps):
            here = f"step {step_name!r}" + (f" of {owner}" if prefix else "")
            if step is None or (isinstance(step, str) and step == "passthrough"):
                steps.append([step_name, step])
                continue
            steps.append(
                [step_name, self.node(step, here, fitted=fitted, prefix=f"{prefix}steps.{i}.")]
            )
        return {"class": _PIPELINE, "params": params, "steps": steps}

    def fitted(self, est, name, where, prefix):
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(est)
        except Exception as exc:
            raise ValueError(f"save_model: {where} is not fitted; fit it before saving.") from exc
        if name == "skmmat.ImageResizer":
            return {"output_shape_": self.value(tuple(est.output_shape_), where)}
        if name == "skmmat.GloveSequencer":
            return {
                "vectors_": {"__table__": self.table(est.vectors_, f"vectors_ of {where}")},
                "embedding_dim_": int(est.embedding_dim_),
                "oov_rate_": float(est.oov_rate_),
            }
        if name == "skmmat.MultiModalCNNClassifier":
            weights = f"{prefix}module."
            for key, tensor in est.net_.module_.state_dict().items():
                self.tensors[weights + key] = tensor.detach().cpu().contiguous().clone()
            history = json.loads(json.dumps(est.net_.history.to_list(), default=_json_default))
            return {
                "classes_": _encode_classes(est.classes_, where),
                "input_shapes_": self.value(dict(est.input_shapes_), where),
                "_fit_arch_": self.value(dict(est._fit_arch_), where),
                "n_iter_": int(est.n_iter_),
                "history": history,
                "weights": weights,
            }
        if name == "skmmat.AdversarialAugmentationWrapper":
            return {
                "estimator_": self.node(
                    est.estimator_,
                    f"estimator_ of {where}",
                    fitted=True,
                    prefix=f"{prefix}estimator_.",
                ),
                "initial_estimator_": self.node(
                    est.initial_estimator_,
                    f"initial_estimator_ of {where}",
                    fitted=True,
                    prefix=f"{prefix}initial_estimator_.",
                ),
                "classes_": _encode_classes(est.classes_, where),
                "rounds_": self.value(list(est.rounds_), f"rounds_ of {where}"),
            }
        raise ValueError(
            f"save_model: cannot save {where}: a fitted {name.split('.')[-1]} is not supported "
            "(perturbers are saved as parameters of AdversarialAugmentationWrapper only)."
        )


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _encode_classes(classes, where):
    classes = np.asarray(classes)
    if classes.ndim != 1 or classes.dtype.kind not in "OUbiuf":
        raise ValueError(
            f"save_model: cannot save the classes of {where}: labels of dtype {classes.dtype} "
            "are not supported (use strings, integers, floats or booleans)."
        )
    values = []
    for v in classes.tolist():
        if isinstance(v, np.generic):
            v = v.item()
        if not isinstance(v, str | bool | int | float):
            raise ValueError(
                f"save_model: cannot save the class label {v!r} of {where}: only strings, "
                "integers, floats and booleans are supported."
            )
        values.append(v)
    return {"dtype": classes.dtype.str, "values": values}


def save_model(estimator, path):
    """Save a fitted skmmat model to one ``.safetensors`` file, without pickle.

    Parameters
    ----------
    estimator : fitted estimator
        A :class:`~skmmat.MultiModalCNNClassifier`, an
        :class:`~skmmat.AdversarialAugmentationWrapper` or a
        :class:`sklearn.pipeline.Pipeline` of skmmat transformers
        (:class:`~skmmat.ImageResizer`, :class:`~skmmat.GloveSequencer`)
        ending in one of them.
    path : str or path-like
        Destination file, conventionally ending in ``.safetensors``. It is
        written atomically (a temporary file renamed into place).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If the estimator is not fitted, is of a class skmmat cannot save
        (custom classes, other scikit-learn estimators), or holds a parameter
        that cannot be stored without pickle (a callable ``tokenizer``, a
        ``RandomState`` instance); the message names the parameter.

    See Also
    --------
    load_model : the inverse.

    Notes
    -----
    The file holds the torch weights as tensors named after the model's
    attribute path (``steps.2.estimator_.module.head.1.weight``) and, in the
    safetensors metadata, a JSON document with the format version, the skmmat
    version, the estimator tree (class names, parameters, fitted attributes
    such as ``classes_`` with their dtype, ``input_shapes_``, the
    architecture, the training history and the wrapper's ``rounds_``) and a
    SHA-256 checksum over the document and the tensors. A
    :class:`~skmmat.GloveSequencer` table is stored by reference when it came
    from the bundled table or a file (its fingerprint is checked on loading)
    and as a tensor plus a word list when it came from an in-memory mapping.
    The Adam state is not saved: warm-starting a loaded classifier continues
    from its weights with a fresh optimiser.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmmat import (GloveSequencer, MultiModalCNNClassifier, load_model,
    ...                     make_crisis_tweets, save_model)
    >>> df = make_crisis_tweets(60, random_state=0)
    >>> pipe = make_pipeline(GloveSequencer(), MultiModalCNNClassifier(
    ...     modalities=("text",), max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(df[["text"]], df["label"])
    >>> path = save_model(pipe, os.path.join(tempfile.mkdtemp(), "model.safetensors"))
    >>> loaded = load_model(path)
    >>> bool((loaded.predict_proba(df[["text"]]) == pipe.predict_proba(df[["text"]])).all())
    True
    """
    from safetensors.torch import save_file

    from . import __version__

    writer = _Writer()
    tree = writer.node(estimator, "", fitted=True)
    document = json.dumps(
        {
            "format": "skmmat-model",
            "format_version": FORMAT_VERSION,
            "skmmat_version": __version__,
            "estimator": tree,
            "tables": writer.tables,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    metadata = {_DOC_KEY: document, _SUM_KEY: _checksum(document, writer.tensors)}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        save_file(writer.tensors, os.fspath(tmp), metadata=metadata)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# ----------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------
class _Reader:
    """Rebuilds estimators from a verified document and its tensors."""

    def __init__(self, tensors, tables, device):
        self.registry = _registry()
        self.tensors = tensors
        self.table_entries = tables
        self.tables = {}
        self.device = device

    def value(self, value):
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            raise ValueError(f"load_model: malformed value {value!r} in the model file.")
        ((tag, payload),) = value.items()
        if tag == "__tuple__":
            return tuple(self.value(v) for v in payload)
        if tag == "__dict__":
            return {k: self.value(v) for k, v in payload.items()}
        if tag == "__float__":
            if payload not in ("nan", "inf", "-inf"):
                raise ValueError(f"load_model: malformed float {payload!r} in the model file.")
            return float(payload)
        if tag == "__device__":
            return torch.device(payload)
        if tag == "__path__":
            return Path(payload)
        if tag == "__table__":
            return self.table(payload)
        if tag == "__estimator__":
            return self.node(payload)
        raise ValueError(f"load_model: unknown value tag {tag!r} in the model file.")

    def table(self, index):
        from .embeddings import WordVectors, load_vectors

        if index in self.tables:
            return self.tables[index]
        try:
            entry = self.table_entries[index]
        except (IndexError, TypeError) as exc:
            raise ValueError(f"load_model: reference to a missing table {index!r}.") from exc
        if "source" in entry:
            table = load_vectors(entry["source"])
            if table.fingerprint != entry["fingerprint"]:
                raise ValueError(
                    f"load_model: the word-vector table {entry['source']!r} differs from the "
                    "one the model was fitted with (fingerprint mismatch); load the model "
                    "where the original table is available."
                )
        else:
            vectors = self._tensor(entry["tensor"]).numpy()
            table = WordVectors(entry["words"], vectors)
        self.tables[index] = table
        return table

    def _tensor(self, name):
        try:
            return self.tensors[name]
        except KeyError:
            raise ValueError(f"load_model: the tensor {name!r} is missing from the file.") from None

    def node(self, node):
        if not isinstance(node, dict) or "class" not in node:
            raise ValueError("load_model: malformed estimator entry in the model file.")
        name = node["class"]
        cls = self.registry.get(name)
        if cls is None:
            raise ValueError(
                f"load_model: the file names the class {name!r}, which is not allowed; only "
                f"{sorted(self.registry)} can be loaded."
            )
        params = {k: self.value(v) for k, v in node.get("params", {}).items()}
        if name == _PIPELINE:
            steps = []
            for step_name, step in node["steps"]:
                if step is None or step == "passthrough":
                    steps.append((step_name, step))
                else:
                    steps.append((step_name, self.node(step)))
            params["steps"] = steps
        if self.device is not None and name == "skmmat.MultiModalCNNClassifier":
            params["device"] = self.device
        try:
            est = cls(**params)
            validate = getattr(est, "_validate_params", None)
            if validate is not None:
                validate()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"load_model: invalid parameters for {name}: {exc}") from exc
        if "fitted" in node:
            self.restore(est, name, node["fitted"])
        return est

    def restore(self, est, name, fitted):
        if name == "skmmat.ImageResizer":
            est.output_shape_ = tuple(self.value(fitted["output_shape_"]))
        elif name == "skmmat.GloveSequencer":
            est.vectors_ = self.value(fitted["vectors_"])
            est.embedding_dim_ = int(fitted["embedding_dim_"])
            est.oov_rate_ = float(fitted["oov_rate_"])
        elif name == "skmmat.MultiModalCNNClassifier":
            prefix = fitted["weights"]
            state = {k[len(prefix) :]: v for k, v in self.tensors.items() if k.startswith(prefix)}
            if not state:
                raise ValueError(f"load_model: no weights under {prefix!r} in the file.")
            est._restore_fitted(
                _decode_classes(fitted["classes_"]),
                self.value(fitted["input_shapes_"]),
                self.value(fitted["_fit_arch_"]),
                state,
                history=fitted.get("history"),
                n_iter=fitted.get("n_iter_"),
            )
        elif name == "skmmat.AdversarialAugmentationWrapper":
            est.estimator_ = self.node(fitted["estimator_"])
            est.initial_estimator_ = self.node(fitted["initial_estimator_"])
            est.classes_ = _decode_classes(fitted["classes_"])
            est.rounds_ = self.value(fitted["rounds_"])
        else:
            raise ValueError(f"load_model: fitted state of {name} is not supported.")


def _decode_classes(entry):
    spec = str(entry["dtype"])
    if not re.fullmatch(r"[<>|=]?[OUbiuf][0-9]{0,6}", spec):  # checked before numpy parses it
        raise ValueError(f"load_model: class labels of dtype {spec!r} are not supported.")
    dtype = np.dtype(spec)
    values = list(entry["values"])
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.asarray(values, dtype=dtype)


def load_model(path, *, device=None):
    """Load a model written by :func:`save_model`, without executing code.

    Parameters
    ----------
    path : str or path-like
        The ``.safetensors`` file.
    device : str or torch.device, optional
        Overrides the ``device`` parameter of every
        :class:`~skmmat.MultiModalCNNClassifier` in the model, e.g. ``"cpu"``
        to use a model trained on ``"cuda"`` on a machine without GPU.

    Returns
    -------
    estimator : estimator
        The fitted model, ready for ``predict``, ``predict_proba`` and
        ``loss_gradient``, which return what the saved model returned.

    Raises
    ------
    ValueError
        If the file is not a skmmat model, its checksum does not match
        (``"checksum mismatch: the file was modified or corrupted"``), it was
        written by an incompatible format version, it names a class outside
        the allow-list, or a word-vector file it refers to has changed.
    FileNotFoundError
        If ``path`` (or a word-vector file the model refers to) does not
        exist.

    See Also
    --------
    save_model : the inverse.

    Notes
    -----
    Loading parses JSON and raw tensor bytes; classes are taken from a fixed
    allow-list (the skmmat estimators and :class:`sklearn.pipeline.Pipeline`)
    and nothing named in the file is imported, so loading runs no code from
    the file. The checksum detects modification and corruption, not a
    malicious author, who can recompute it: verify a signature (e.g. with
    ``gpg --verify`` or Sigstore) before loading files from untrusted
    sources.
    """
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except SafetensorError as exc:
        raise ValueError(f"load_model: {path!r} is not a valid safetensors file: {exc}") from exc
    if _DOC_KEY not in metadata or _SUM_KEY not in metadata:
        raise ValueError(f"load_model: {path!r} is not a skmmat model file (no skmmat metadata).")
    document = metadata[_DOC_KEY]
    if not hmac.compare_digest(_checksum(document, tensors), metadata[_SUM_KEY]):
        raise ValueError(
            f"load_model: checksum mismatch: the file was modified or corrupted ({path!r})."
        )
    try:
        doc = json.loads(document)
    except json.JSONDecodeError as exc:  # pragma: no cover - the checksum covers it
        raise ValueError(f"load_model: {path!r} holds a malformed document.") from exc
    if not isinstance(doc, dict) or doc.get("format") != "skmmat-model":
        raise ValueError(f"load_model: {path!r} is not a skmmat model file.")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"load_model: {path!r} has format version {version!r}; this skmmat reads version "
            f"{FORMAT_VERSION} (file written by skmmat {doc.get('skmmat_version')!r})."
        )
    reader = _Reader(tensors, doc.get("tables", []), device)
    return reader.node(doc["estimator"])


# ----------------------------------------------------------------------
# training checkpoints
# ----------------------------------------------------------------------
CHECKPOINT_FORMAT = 1


def training_fingerprint(params, classes, shapes, inputs, y, *, start=None, n_before=0):
    """Hex digest identifying a training run: parameters, data and starting weights.

    Parameters
    ----------
    params : dict
        Hyper-parameters that define the run.
    classes : ndarray
        Sorted class labels.
    shapes : dict
        Per-modality input shapes.
    inputs : dict of str -> ndarray
        The model inputs.
    y : ndarray
        Encoded labels.
    start : mapping of str -> torch.Tensor, optional
        Starting weights of a warm-started run.
    n_before : int, default=0
        Epochs of history before the run (warm start).

    Returns
    -------
    fingerprint : str
    """
    digest = hashlib.sha256()
    digest.update(f"skmmat-fit-v{CHECKPOINT_FORMAT}\0".encode())
    digest.update(repr(sorted(params.items())).encode())
    digest.update(repr((np.asarray(classes).dtype.str, np.asarray(classes).tolist())).encode())
    digest.update(repr(sorted(shapes.items())).encode())
    for m in sorted(inputs):
        arr = np.ascontiguousarray(inputs[m])
        digest.update(f"{m}|{arr.dtype.str}|{arr.shape}\0".encode())
        digest.update(memoryview(arr).cast("B"))
    digest.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    digest.update(f"start|{n_before}\0".encode())
    if start is not None:
        for key in sorted(start):
            digest.update(key.encode() + b"\0")
            digest.update(start[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class TrainingCheckpoint(Callback):
    """skorch callback: save the training state after every epoch; resume from it.

    One file per training run, ``<folder>/skmmat-fit-<fingerprint>.pt``,
    holding the module weights, the optimiser state, the history (JSON), the
    torch and shuffling random-number generator states, the seed and the
    early-stopping state. Written atomically with :func:`torch.save`, read
    with ``torch.load(weights_only=True)``.

    Parameters
    ----------
    folder : str or path-like
        Checkpoint folder (created when needed).
    fingerprint : str
        :func:`training_fingerprint` of the run.
    """

    def __init__(self, folder, fingerprint):
        self.folder = folder
        self.fingerprint = fingerprint
        self.seed = None
        self.generator = None
        self.n_before = 0
        self._pending_es = None

    @property
    def path(self):
        return Path(self.folder).expanduser() / f"skmmat-fit-{self.fingerprint[:32]}.pt"

    # reading ---------------------------------------------------------------
    def load(self):
        """The saved state of this run, or None when there is none.

        Raises
        ------
        ValueError
            If the file exists but cannot be read.
        """
        path = self.path
        if not path.is_file():
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"Cannot resume from the checkpoint file {os.fspath(path)!r}: {exc}. Delete it "
                "to train from the start."
            ) from exc
        if (
            not isinstance(state, dict)
            or state.get("format") != CHECKPOINT_FORMAT
            or state.get("fingerprint") != self.fingerprint
        ):
            warnings.warn(
                f"Ignoring the checkpoint file {os.fspath(path)!r}: it belongs to another "
                "training run or skmmat version; it will be overwritten.",
                UserWarning,
                stacklevel=4,
            )
            return None
        self.seed = int(state["seed"])
        return state

    def restore(self, net, state):
        """Load ``state`` into the initialised ``net``.

        Returns
        -------
        resumed : int
            Epochs of this run already completed.
        finished : bool
            Whether the run had stopped early (nothing left to train).
        """
        try:
            net.module_.load_state_dict(state["module"])
            net.optimizer_.load_state_dict(state["optimizer"])
            net.history = History(json.loads(state["history"]))
            torch.set_rng_state(state["torch_rng"])
            if "cuda_rng" in state and net.device is not None:
                device = torch.device(net.device)
                if device.type == "cuda" and torch.cuda.is_available():
                    torch.cuda.set_rng_state(state["cuda_rng"], device)
            if self.generator is not None:
                self.generator.set_state(state["generator"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"Cannot resume from the checkpoint file {os.fspath(self.path)!r}: {exc}. "
                "Delete it to train from the start."
            ) from exc
        self._pending_es = state.get("early_stopping")
        return len(net.history) - self.n_before, state.get("status") == "stopped"

    # callback hooks ------------------------------------------------------------
    @staticmethod
    def _early_stopping(net):
        for name, cb in getattr(net, "callbacks_", []):
            if name == "early_stopping":
                return cb
        return None

    def on_train_begin(self, net, **kwargs):
        es = self._early_stopping(net)
        saved, self._pending_es = self._pending_es, None
        if es is not None and saved is not None:  # EarlyStopping reset itself just now
            es.misses_ = int(saved["misses"])
            es.dynamic_threshold_ = float(saved["threshold"])
            es.best_epoch_ = int(saved["best_epoch"])
            es.best_model_weights_ = saved["best_weights"]

    def on_epoch_end(self, net, **kwargs):
        self._save(net, "running")

    def on_train_end(self, net, **kwargs):
        es = self._early_stopping(net)
        if es is not None and es.misses_ >= es.patience:
            # stopped early: the last epoch was not saved (EarlyStopping raised
            # first) and the module now holds the best weights, the final model
            self._save(net, "stopped")

    def _save(self, net, status):
        es = self._early_stopping(net)
        es_state = None
        if es is not None:
            es_state = {
                "misses": int(es.misses_),
                "threshold": float(es.dynamic_threshold_),
                "best_epoch": int(es.best_epoch_),
                "best_weights": es.best_model_weights_,
            }
        state = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.fingerprint,
            "status": status,
            "seed": int(self.seed),
            "n_before": int(self.n_before),
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": json.dumps(net.history.to_list(), default=_json_default),
            "torch_rng": torch.get_rng_state(),
            "early_stopping": es_state,
        }
        if self.generator is not None:
            state["generator"] = self.generator.get_state()
        if net.device is not None:
            device = torch.device(net.device)
            if device.type == "cuda" and torch.cuda.is_available():
                state["cuda_rng"] = torch.cuda.get_rng_state(device)
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            torch.save(state, tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
