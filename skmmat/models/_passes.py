"""Evaluation-mode passes of a fitted network over model inputs, in batches."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F

from .._allocator import release_freed_memory
from .._torch_state import torch_threads

__all__ = ["eval_batch_size", "eval_logits", "batched_input_gradient", "batched_proba"]

#: rows per evaluation pass under eval_batch_size="auto", by device type
_AUTO_EVAL_BATCH = {"cpu": 32}
#: ... and on any accelerator (cuda, mps, xpu)
_AUTO_EVAL_BATCH_ACCELERATOR = 1024


def eval_batch_size(value, device):
    """Rows per evaluation pass: ``value``, or the device's size for ``"auto"``."""
    if not (isinstance(value, str) and value == "auto"):
        return int(value)
    kind = torch.device(device).type if device is not None else "cpu"
    return _AUTO_EVAL_BATCH.get(kind, _AUTO_EVAL_BATCH_ACCELERATOR)


def _as_tensor(array, device):
    t = torch.as_tensor(array, dtype=torch.float32)
    return t.to(device) if device is not None else t


def eval_logits(module, inputs, device, n_threads):
    """Logits of ``module`` in evaluation mode; its training flag is restored.

    ``inputs`` maps modality names to arrays or tensors in model layout;
    tensors keep their autograd graph.
    """
    tensors = {
        m: (v if isinstance(v, torch.Tensor) else _as_tensor(v, device)) for m, v in inputs.items()
    }
    was_training = module.training
    module.eval()
    try:
        with torch_threads(n_threads):
            return module(**tensors)
    finally:
        module.train(was_training)


#: batches between two hand-backs of the freed heap to the system in a long pass
_TRIM_EVERY = 64


def _batches(n, size):
    """Slices of ``size`` rows; every :data:`_TRIM_EVERY` batches the freed heap goes back.

    glibc can grow its heap with freed per-batch buffers during one long pass
    (up to 1.8 image copies over 8,425 rows, ``skmmat._allocator``). Handing
    it back every 64 batches costs nothing measurable and trims that growth
    (332 to 259 MB in one prediction pass over 8,425 rows); every batch would
    bound it at 21 MB but made the pass twice as slow, since the next batch
    faults its memory in afresh. A pass of more than one batch also hands it
    back when it ends, so that passes over blocks of rows (MMAT crafts 1,024
    rows at a time) do not leave their growth under the cells they produce.
    """
    k = -1
    for k, start in enumerate(range(0, n, size)):
        if k and k % _TRIM_EVERY == 0:
            release_freed_memory()
        yield slice(start, start + size)
    if k > 0:
        release_freed_memory()


def batched_proba(module, inputs, *, device, n_threads, batch_size):
    """Softmax probabilities over all rows of ``inputs``, ``batch_size`` rows a pass."""
    n = len(next(iter(inputs.values())))
    out = []
    with torch_threads(n_threads), torch.inference_mode():
        for part in _batches(n, batch_size):
            logits = eval_logits(module, {m: a[part] for m, a in inputs.items()}, device, None)
            out.append(torch.softmax(logits, dim=1).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def batched_input_gradient(module, inputs, y_enc, *, device, n_threads, batch_size):
    """Per-row gradient of the cross-entropy loss w.r.t. each input, in column layout.

    ``y_enc`` holds class indices, or is None to take the loss at the
    model's own predictions (argmax of the same forward pass). Images come
    back channels last, as the input columns hold them. Samples are
    independent in evaluation mode, so the gradient of the summed loss
    w.r.t. each row is that row's own loss gradient.
    """
    modalities = list(inputs)
    n = len(inputs[modalities[0]])
    shapes = {
        m: a.shape[2:] + a.shape[1:2] if m == "image" else a.shape[1:] for m, a in inputs.items()
    }
    grads = {m: np.empty((n, *shapes[m]), np.float32) for m in modalities}
    with _frozen_parameters(module):
        _input_gradient_batches(module, inputs, y_enc, grads, device, n_threads, batch_size)
    return grads


@contextlib.contextmanager
def _frozen_parameters(module):
    """No parameter gradients while only the inputs' are wanted (9 % faster passes)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _input_gradient_batches(module, inputs, y_enc, grads, device, n_threads, batch_size):
    modalities = list(inputs)
    n = len(inputs[modalities[0]])
    for part in _batches(n, batch_size):
        batch = {m: _as_tensor(a[part], device).requires_grad_(True) for m, a in inputs.items()}
        with torch_threads(n_threads), torch.enable_grad():
            logits = eval_logits(module, batch, device, None)
            if y_enc is None:
                target = logits.detach().argmax(dim=1)
            else:
                target = torch.as_tensor(y_enc[part], device=logits.device)
            loss = F.cross_entropy(logits, target, reduction="sum")
            batch_grads = torch.autograd.grad(loss, [batch[m] for m in modalities])
        for m, g in zip(modalities, batch_grads):
            g = g.detach().cpu().numpy()
            grads[m][part] = g.transpose(0, 2, 3, 1) if m == "image" else g
