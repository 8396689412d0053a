"""A pretrained encoder's frozen prefix over the training images: computed once, cached by content.

With a frozen (or partly frozen) pretrained encoder, what the frozen part
computes from an image never changes during a fit. The classifier computes
it once before the first epoch and trains the rest of the network on it, so
an epoch costs what the head (and any fine-tuned blocks) cost. With a
``feature_cache`` folder the outputs are also kept on disk, one file per
image, keyed by the image's bytes and the frozen weights: the folds and
candidates of a grid search, the seeds of a benchmark and the processes of a
Dask cluster that see the same images then compute each image once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .._torch_state import torch_threads
from ._encoder import EncoderBranch

__all__ = [
    "FeatureCache",
    "caches_frozen_features",
    "frozen_image_features",
    "module_digest",
    "with_frozen_features",
]


def module_digest(tensors, *extra):
    """Hex digest of named tensors (a state dict) and a few ``repr``-able extras."""
    digest = hashlib.sha256(repr(extra).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}\0".encode())
        digest.update(memoryview(t.view(-1).view(torch.uint8).numpy()))
    return digest.hexdigest()


def caches_frozen_features(module, batch_attack, augment):
    """Whether a fit trains on the frozen prefix's outputs instead of the images.

    Only when the image branch is a pretrained encoder with a frozen prefix,
    the images are not augmented (each epoch would see other pixels) and no
    in-loop hook attacks the images of each batch (the attack needs the
    gradient through the whole encoder).
    """
    visual = getattr(module, "visual", None)
    return (
        isinstance(visual, EncoderBranch)
        and visual.split > 0
        and not augment
        and batch_attack is None
    )


def with_frozen_features(module, inputs, **kwargs):
    """``inputs`` with ``"image"`` replaced by the frozen prefix's output, ``"image_frozen"``.

    ``kwargs`` are those of :func:`frozen_image_features`.
    """
    out = {m: v for m, v in inputs.items() if m != "image"}
    out["image_frozen"] = frozen_image_features(module.visual, inputs["image"], **kwargs)
    return out


def _prefix_key(branch, image_shape):
    """What the frozen prefix's output depends on, besides the image."""
    state = {"image_mean": branch.image_mean, "image_std": branch.image_std}
    for index in range(branch.split):
        for j, part in enumerate(branch.unit_modules(index)):
            state.update({f"{index}.{j}.{k}": v for k, v in part.state_dict().items()})
    return module_digest(state, "skmmat-frozen-v1", branch.name, branch.split, image_shape)


class FeatureCache:
    """One ``.npy`` file per (frozen prefix, image) under a folder.

    Parameters
    ----------
    location : str or path-like
        The folder; created when first written. Files are written to a
        temporary name and renamed, so processes may share it.
    """

    def __init__(self, location):
        self.location = Path(location)

    def _path(self, key, digest):
        return self.location / key[:32] / digest[:2] / f"{digest}.npy"

    def load(self, key, digest):
        """The cached array, or None."""
        path = self._path(key, digest)
        try:
            return np.load(path, allow_pickle=False)
        except (FileNotFoundError, ValueError, OSError):
            return None

    def save(self, key, digest, array):
        path = self._path(key, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.save(out, np.ascontiguousarray(array), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _row_digest(row):
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{row.dtype.str}|{row.shape}\0".encode())
    digest.update(memoryview(np.ascontiguousarray(row)).cast("B"))
    return digest.hexdigest()


def frozen_image_features(branch, images, *, device, n_threads, batch_size, cache_dir=None):
    """The frozen prefix's output for every image, in evaluation mode and without gradients.

    Identical images (the same pixels) are computed once: CrisisMMD repeats
    some images, and a query-only text attack asks for many variants of one
    tweet, all with the same image.

    Parameters
    ----------
    branch : EncoderBranch
        The image branch.
    images : RowColumn or ndarray of shape (n, 3, height, width)
        Model-layout images.
    device : str or torch.device
    n_threads : int or None
    batch_size : int
        Images per pass.
    cache_dir : str, path-like or None, default=None
        Folder of a :class:`FeatureCache`; None keeps nothing after the call.

    Returns
    -------
    features : ndarray of float32, shape (n, *prefix_output_shape)
    """
    n = len(images)
    digests = [_row_digest(images[i]) for i in range(n)]
    first = {}  # digest -> the first row holding it
    for i, digest in enumerate(digests):
        first.setdefault(digest, i)
    cache = None if cache_dir is None else FeatureCache(cache_dir)
    key = None if cache is None else _prefix_key(branch, tuple(images.shape[1:]))
    found = {}
    if cache is not None:
        for digest in first:
            value = cache.load(key, digest)
            if value is not None:
                found[digest] = value
    missing = np.array([i for d, i in first.items() if d not in found], dtype=np.int64)
    was_training = branch.training
    branch.eval()
    try:
        with torch_threads(n_threads), torch.inference_mode():
            for start in range(0, len(missing), batch_size):
                part = missing[start : start + batch_size]
                batch = torch.as_tensor(np.asarray(images[part]), dtype=torch.float32)
                out = branch.frozen(batch.to(device)).float().cpu().numpy()
                for i, value in zip(part.tolist(), out):
                    found[digests[i]] = value
                    if cache is not None:
                        cache.save(key, digests[i], value)
    finally:
        branch.train(was_training)
    if n == 0:
        return np.empty((0,), np.float32)
    return np.stack([found[d] for d in digests]).astype(np.float32, copy=False)
