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

The tree is walked through a small protocol, so this module names no
estimator's private attributes: a class whose fitted state can be saved
defines ``__skmmat_getstate__()``, returning a dict of its fitted state
(numbers, strings, tuples, lists, dicts, one-dimensional label arrays,
torch tensors, word-vector tables and fitted estimators), and
``__skmmat_setstate__(state)``, which validates its parameters and restores
that state without training.
"""

from ._load import load_model
from ._save import save_model

__all__ = ["load_model", "save_model"]
