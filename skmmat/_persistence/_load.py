"""Loading: rebuild estimators from a verified model file, running no code from it."""

from __future__ import annotations

from pathlib import Path

import torch

from ..embeddings import WordVectors, load_vectors
from ._format import PIPELINE, decode_array, registry
from ._read import read_model_file

__all__ = ["load_model"]


class _Reader:
    """Rebuilds estimators from a verified document and its tensors."""

    def __init__(self, tensors, tables, device):
        self.registry = registry()
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
        if tag == "__tensor__":
            return self._tensor(payload)
        if tag == "__array__":
            return decode_array(payload)
        if tag in ("__estimator__", "__fitted__"):
            return self.node(payload)
        raise ValueError(f"load_model: unknown value tag {tag!r} in the model file.")

    def table(self, index):

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
        if name == PIPELINE:
            steps = []
            for step_name, step in node["steps"]:
                if step is None or step == "passthrough":
                    steps.append((step_name, step))
                else:
                    steps.append((step_name, self.node(step)))
            params["steps"] = steps
        if self.device is not None and "device" in params:
            params["device"] = self.device
        try:
            est = cls(**params)
            if "fitted" in node:
                state = {k: self.value(v) for k, v in node["fitted"].items()}
                est.__skmmat_setstate__(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"load_model: invalid entry for {name}: {exc}") from exc
        return est


def load_model(path, *, verify_key=None, device=None):
    """Load a model written by :func:`save_model`, without executing code.

    Parameters
    ----------
    path : str or path-like
        The ``.safetensors`` file.
    verify_key : str, path-like, Ed25519PublicKey or list of them, optional
        Trusted public keys (PEM files as ``openssl genpkey -algorithm
        ed25519`` or ``skmmat keygen`` write them, or key objects). When
        given, the file must carry a valid Ed25519 signature by one of them:
        an unsigned file, a file signed by another key and a file changed
        after signing are refused. Without it the file loads whether signed
        or not; :func:`~skmmat.model_card` tells who signed it. Needs
        ``pip install 'skmmat[signing]'``.
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
        the allow-list, or a word-vector file it refers to has changed; with
        ``verify_key``, if the file is unsigned, signed by an untrusted key
        or its signature does not match its content. The message names the
        file and the reason.
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
    malicious author, who can recompute it: pass ``verify_key`` to load only
    files signed by a key you trust (see :ref:`sharing_models`).
    """
    model = read_model_file(path, verify_key=verify_key)
    reader = _Reader(model.tensors, model.document.get("tables", []), device)
    return reader.node(model.document["estimator"])
