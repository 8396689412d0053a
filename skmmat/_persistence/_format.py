"""The model file's format: its version, keys, class allow-list, checksum and label arrays."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from ..adversarial import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    RandomizedSmoothingClassifier,
    WordSubstitutionPerturber,
)
from ..models import MultiModalCNNClassifier
from ..preprocessing import GloveSequencer, ImageResizer

__all__ = [
    "DOC_KEY",
    "FORMAT_VERSION",
    "PIPELINE",
    "SUM_KEY",
    "checksum",
    "class_name",
    "decode_array",
    "encode_array",
    "registry",
]

#: Version of the JSON document; bumped on incompatible changes.
FORMAT_VERSION = 2
DOC_KEY = "skmmat"
SUM_KEY = "skmmat.sha256"
PIPELINE = "sklearn.pipeline.Pipeline"


def registry():
    """Allow-list: the only classes a model file may name."""
    return {
        PIPELINE: Pipeline,
        "skmmat.MultiModalCNNClassifier": MultiModalCNNClassifier,
        "skmmat.AdversarialAugmentationWrapper": AdversarialAugmentationWrapper,
        "skmmat.adversarial.RandomizedSmoothingClassifier": RandomizedSmoothingClassifier,
        "skmmat.ImageResizer": ImageResizer,
        "skmmat.GloveSequencer": GloveSequencer,
        "skmmat.FGSMPerturber": FGSMPerturber,
        "skmmat.WordSubstitutionPerturber": WordSubstitutionPerturber,
    }


def class_name(est, registry):
    for name, cls in registry.items():
        if type(est) is cls:  # exact class: subclasses may hold code we cannot restore
            return name
    return None


def checksum(document, tensors):
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


def encode_array(array, where):
    """A one-dimensional array of labels as its dtype and values."""
    if array.ndim != 1 or array.dtype.kind not in "OUbiuf":
        raise ValueError(
            f"save_model: cannot save an array of {where}: arrays of dtype {array.dtype} and "
            f"{array.ndim} dimensions are not supported (use strings, integers, floats or "
            "booleans, in one dimension)."
        )
    values = []
    for v in array.tolist():
        if isinstance(v, np.generic):
            v = v.item()
        if not isinstance(v, str | bool | int | float):
            raise ValueError(
                f"save_model: cannot save the value {v!r} of {where}: only strings, "
                "integers, floats and booleans are supported."
            )
        values.append(v)
    return {"dtype": array.dtype.str, "values": values}


def decode_array(entry):
    spec = str(entry["dtype"])
    if not re.fullmatch(r"[<>|=]?[OUbiuf][0-9]{0,6}", spec):  # checked before numpy parses it
        raise ValueError(f"load_model: arrays of dtype {spec!r} are not supported.")
    dtype = np.dtype(spec)
    values = list(entry["values"])
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.asarray(values, dtype=dtype)
