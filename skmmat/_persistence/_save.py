"""Saving: walk an estimator tree into a JSON document and safetensors tensors."""

from __future__ import annotations

import json
import math
import numbers
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..embeddings import WordVectors, load_vectors
from ._card import build_card
from ._format import (
    DOC_KEY,
    FORMAT_VERSION,
    PIPELINE,
    SUM_KEY,
    checksum,
    class_name,
    encode_array,
    registry,
)
from ._signing import SIG_KEY, load_signing_key, sign

__all__ = ["save_model"]


class _Writer:
    """Walks an estimator tree into a JSON-able document and a dict of tensors."""

    def __init__(self):
        self.registry = registry()
        self.tensors = {}
        self.tables = []  # JSON entries
        self._table_ids = {}  # fingerprint -> index

    # values -------------------------------------------------------------
    def value(self, value, where, path=None):
        """Encode one value; ``path`` is set inside fitted state (names tensors)."""

        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return self.value(value.item(), where, path)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, os.PathLike):
            return {"__path__": os.fspath(value)}
        if isinstance(value, WordVectors) and path is not None:
            return {"__table__": self.table(value, where)}
        if isinstance(value, torch.Tensor) and path is not None:
            self.tensors[path] = value.detach().cpu().contiguous()
            return {"__tensor__": path}
        if isinstance(value, np.ndarray) and path is not None:
            return {"__array__": encode_array(value, where)}
        if class_name(value, self.registry) is not None:
            if path is not None:  # fitted state holds fitted estimators
                return {"__fitted__": self.node(value, where, fitted=True, prefix=path + ".")}
            return {"__estimator__": self.node(value, where, fitted=False)}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": self.mapping(value, where, path)}
        if isinstance(value, torch.nn.Module):
            raise ValueError(
                f"save_model: cannot save {where}: it holds a torch module of your own "
                f"({type(value).__qualname__}), and skmmat rebuilds only the networks it "
                "defines (no pickle). Use a named image_encoder such as 'efficientnet_lite0', "
                "or keep the fitted estimator with your own tools."
            )
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

    def mapping(self, values, where, path=None):
        return {
            k: self.value(v, f"{where}[{k!r}]", None if path is None else f"{path}.{k}")
            for k, v in values.items()
        }

    def table(self, table, where):
        """Register a word-vector table; return its index in the document's tables."""

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
            entry["words"] = [str(w) for w in table.words]
            entry["tensor"] = f"tables.{index}.vectors"
            self.tensors[entry["tensor"]] = torch.from_numpy(np.array(table.vectors))
        self.tables.append(entry)
        self._table_ids[key] = index
        return index

    def params(self, est, owner):

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
        name = class_name(est, self.registry)
        kind = f"{type(est).__module__}.{type(est).__qualname__}"
        if name is None:
            raise ValueError(
                f"save_model: cannot save {where or 'the estimator'}: {kind} is not a class "
                f"skmmat can save (allowed: {sorted(self.registry)})."
            )
        owner = type(est).__name__ + (f" ({where})" if where else "")
        if name == PIPELINE:
            return self.pipeline(est, owner, fitted=fitted, prefix=prefix)
        node = {"class": name, "params": self.params(est, owner)}
        if fitted:
            node["fitted"] = self.fitted(est, owner, prefix)
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
        return {"class": PIPELINE, "params": params, "steps": steps}

    def fitted(self, est, where, prefix):
        """The estimator's fitted state, through its ``__skmmat_getstate__``."""
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(est)
        except Exception as exc:
            raise ValueError(f"save_model: {where} is not fitted; fit it before saving.") from exc
        getstate = getattr(est, "__skmmat_getstate__", None)
        if getstate is None:
            raise ValueError(
                f"save_model: cannot save {where}: a fitted {type(est).__name__} is not "
                "supported (perturbers are saved as parameters of "
                "AdversarialAugmentationWrapper only)."
            )
        return self.mapping(getstate(), where, prefix.rstrip("."))


def save_model(estimator, path, *, card=None, signing_key=None):
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
    card : dict, optional
        Entries added to the file's model card (JSON values: strings,
        numbers, booleans, lists, dicts), such as ``"training"`` (events and
        rows per event, task, label rule) and ``"evaluation"`` (clean and
        attacked scores with the threat model). The card always holds the
        estimator, its parameters, the classes, the input shapes, the
        word-vector tables and the skmmat version; read it with
        :func:`~skmmat.model_card`.
    signing_key : str, path-like or Ed25519PrivateKey, optional
        Signs the file with this Ed25519 private key: a PKCS#8 PEM file (as
        ``openssl genpkey -algorithm ed25519`` or ``skmmat keygen`` write
        it; an encrypted key takes its password from the environment
        variable ``SKMMAT_KEY_PASSWORD`` or a prompt) or a key object. The
        signature covers the document, the card and every tensor; it goes
        into the metadata with the signer's public key and fingerprint, and
        :func:`load_model` checks it against ``verify_key``. Needs
        ``pip install 'skmmat[signing]'``.

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
        ``RandomState`` instance); the message names the parameter. Also if
        ``card`` holds a value that is not plain JSON or sets an entry
        save_model writes itself, or ``signing_key`` is not an Ed25519 private
        key.
    ImportError
        If ``signing_key`` is given and ``cryptography`` is not installed.

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

    private_key = None if signing_key is None else load_signing_key(signing_key)
    writer = _Writer()
    tree = writer.node(estimator, "", fitted=True)
    document = json.dumps(
        {
            "format": "skmmat-model",
            "format_version": FORMAT_VERSION,
            "skmmat_version": __version__,
            "estimator": tree,
            "tables": writer.tables,
            "card": build_card(estimator, writer.tables, card),
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    metadata = {DOC_KEY: document, SUM_KEY: checksum(document, writer.tensors)}
    if private_key is not None:
        metadata[SIG_KEY] = sign(metadata, private_key)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        save_file(writer.tensors, os.fspath(tmp), metadata=metadata)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
