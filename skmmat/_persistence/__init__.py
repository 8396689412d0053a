"""Pickle-free persistence: :func:`save_model`, :func:`load_model` and training checkpoints.

A saved model is one `safetensors <https://huggingface.co/docs/safetensors>`_
file. Its tensors are the torch weights, named after the attribute path of
the model they belong to (``steps.2.estimator_.module.visual.fc.weight``);
its ``__metadata__`` holds

* ``"skmmat"``: a JSON document with the format version, the skmmat
  version and the estimator tree (class names from an allow-list, parameters
  and the fitted attributes inference needs);
* ``"skmmat.sha256"``: a SHA-256 checksum over the JSON document and every
  tensor's name, dtype, shape and bytes;
* ``"skmmat.signature"``, in signed files only: an Ed25519 signature over
  the other entries (and so, through the checksum, over every tensor), with
  the signer's public key and fingerprint.

The document holds the model card (:func:`model_card`).

Loading parses JSON and raw tensor bytes only, instantiates classes from the
allow-list only and never imports a name read from the file, so it executes
no code from the file. The checksum detects accidental modification or
corruption; it does not authenticate the author (anyone can recompute it):
the signature does, when :func:`load_model` is given the trusted keys.

The tree is walked through a small protocol, so this module names no
estimator's private attributes: a class whose fitted state can be saved
defines ``__skmmat_getstate__()``, returning a dict of its fitted state
(numbers, strings, tuples, lists, dicts, one-dimensional label arrays,
torch tensors, word-vector tables and fitted estimators), and
``__skmmat_setstate__(state)``, which validates its parameters and restores
that state without training.
"""

from ._card import model_card
from ._load import load_model
from ._save import save_model
from ._signing import PASSWORD_ENV, generate_key_pair, load_verify_keys

__all__ = [
    "PASSWORD_ENV",
    "generate_key_pair",
    "load_model",
    "load_verify_keys",
    "model_card",
    "save_model",
]
