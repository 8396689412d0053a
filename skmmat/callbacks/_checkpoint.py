"""Resumable training: a skorch callback that saves and restores the whole training state.

skorch's own :class:`~skorch.callbacks.Checkpoint` and
:class:`~skorch.callbacks.LoadInitState` save the module, optimiser and
history. Resuming a seeded fit *bit for bit* also needs the random-number
generator states (torch's and the shuffling generator's), the seed of the
validation split and the early-stopping state, so this callback saves those
too, in one file per training run keyed by a fingerprint of the run.

Checkpoints are written with :func:`torch.save` and read back with
``torch.load(weights_only=True)``, which unpickles tensors and plain
containers only.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

__all__ = ["CHECKPOINT_FORMAT", "TrainingCheckpoint", "training_fingerprint"]

CHECKPOINT_FORMAT = 1


#: rows per block of the data's hash
_HASH_BLOCK = 1024


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
    inputs : dict of str -> ndarray or RowColumn
        The model inputs (hashed a block of rows at a time).
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
        column = inputs[m]
        digest.update(f"{m}|{np.dtype(column.dtype).str}|{tuple(column.shape)}\0".encode())
        # block by block (a column of per-row cells is never stacked whole): the same
        # bytes as the C-contiguous array
        for first in range(0, len(column), _HASH_BLOCK):
            block = np.ascontiguousarray(column[first : first + _HASH_BLOCK])
            digest.update(memoryview(block).cast("B"))
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


def _json_default(obj):
    """numpy scalars in a skorch history as Python numbers."""
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
