"""The image branch over a pretrained encoder: ImageNet standardisation, the encoder, its features.

A pretrained encoder is split in two at build time: a frozen prefix, whose
parameters never train, and a trainable suffix. The classifier computes the
prefix's output once per fit and trains the suffix and the head on it
(:mod:`skmmat.models._features`); prediction and the attacks' gradients run
the whole branch on the image.
"""

from __future__ import annotations

import copy
from numbers import Integral

import torch
from torch import nn

from ._augment import flip_and_shift
from ._pretrained import PRETRAINED_ENCODERS, pretrained_encoder

__all__ = ["IMAGE_ENCODERS", "EncoderBranch", "check_fine_tune", "encoder_name", "is_visual_cnn"]

#: the image encoders known by name: the paper's network and the pretrained ones
IMAGE_ENCODERS = ("visual_cnn", *PRETRAINED_ENCODERS)

#: ImageNet's per-channel mean and standard deviation, on [0, 1] pixels
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def is_visual_cnn(image_encoder):
    """Whether ``image_encoder`` names the paper's Visual-CNN."""
    return isinstance(image_encoder, str) and image_encoder == "visual_cnn"


def encoder_name(image_encoder):
    """``image_encoder`` itself for a name, ``"custom"`` for a module of the user's."""
    return image_encoder if isinstance(image_encoder, str) else "custom"


def check_fine_tune(fine_tune, image_encoder, caller):
    """Raise ValueError unless ``fine_tune`` applies to ``image_encoder``."""
    if fine_tune in ("none", "all"):
        return
    if isinstance(image_encoder, str) and image_encoder in PRETRAINED_ENCODERS:
        n_blocks = PRETRAINED_ENCODERS[image_encoder][3].N_BLOCKS  # no network is built
        if isinstance(fine_tune, Integral) and 1 <= fine_tune <= n_blocks:
            return
        raise ValueError(
            f"The 'fine_tune' parameter of {caller} must be 'none', 'all' or a number of "
            f"blocks from 1 to {n_blocks} for image_encoder={image_encoder!r}. "
            f"Got {fine_tune!r} instead."
        )
    raise ValueError(
        f"The 'fine_tune' parameter of {caller} must be 'none' or 'all' for an image_encoder "
        f"module of your own (it has no blocks skmmat knows of). Got {fine_tune!r} instead."
    )


class EncoderBranch(nn.Module):
    """Image branch of :class:`~skmmat.models.MultiModalCNN` over a pretrained encoder.

    Parameters
    ----------
    image_encoder : str or torch.nn.Module
        ``"efficientnet_lite0"``, or a module of the user's that maps
        ``(n, 3, height, width)`` images in [0, 1] to ``(n, n_features)``
        features (it is copied, never changed).
    image_size : tuple of int
        ``(height, width)`` of the input images.
    fine_tune : {"none", "all"} or int, default="none"
        Which encoder parameters train: none (the encoder is frozen), all of
        them, or the last ``fine_tune`` blocks of a named encoder and the
        convolution after them.
    pretrained : bool, default=True
        Load the named encoder's ImageNet weights (False builds it with
        fresh weights, to be replaced by saved ones).
    augment : bool, default=False
        Random flips and shifts of the training images (see
        :class:`~skmmat.models.VisualCNN`).

    Notes
    -----
    A named encoder sees the image standardised with ImageNet's mean and
    standard deviation (buffers ``image_mean`` and ``image_std``), so the
    input stays in [0, 1] and an attack's ``eps`` keeps pixel units; a
    module of the user's sees the image as given. A named encoder stays in
    evaluation mode (batch normalisation keeps its ImageNet statistics)
    while the rest of the network trains; so does a frozen module of the
    user's.
    """

    def __init__(self, image_encoder, image_size, fine_tune="none", pretrained=True, augment=False):
        super().__init__()
        self.name = encoder_name(image_encoder)
        self.augment = bool(augment)
        named = isinstance(image_encoder, str)
        if named:
            self.encoder = pretrained_encoder(image_encoder, weights=pretrained)
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        else:
            self.encoder = copy.deepcopy(image_encoder)
            mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        self.register_buffer("image_mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("image_std", torch.tensor(std).view(1, 3, 1, 1))
        n_units = self._n_units = self.encoder.n_units if named else 1
        trainable = {"none": 0, "all": n_units}.get(fine_tune)
        if trainable is None:  # the last fine_tune blocks and the head convolution
            trainable = int(fine_tune) + 1
        #: index of the first trainable unit: units before it form the frozen prefix
        self.split = n_units - trainable
        self._named = named
        self._fixed_mode = named or self.split > 0
        for index in range(self.split):
            for module in self.unit_modules(index):
                module.requires_grad_(False)
        self.out_features = self._feature_size(image_size)

    def unit_modules(self, index):
        """The encoder's modules that hold the parameters of unit ``index``."""
        return self.encoder.unit_modules(index) if self._named else [self.encoder]

    def _run(self, x, start, stop):
        if start >= stop:
            return x
        if self._named:
            return self.encoder.run(x, start, stop)
        return self.encoder(x)

    def _feature_size(self, image_size):
        height, width = (int(s) for s in image_size)
        probe = torch.zeros(1, 3, height, width)
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            with torch.no_grad():
                out = self._run(self._standardize(probe), 0, self._n_units)
        except Exception as exc:
            raise ValueError(
                f"The image_encoder {self.name!r} cannot encode column 'image' at "
                f"{height}x{width} pixels (a batch of shape {tuple(probe.shape)} failed: {exc})."
            ) from exc
        finally:
            self.encoder.train(was_training)
        if out.ndim != 2 or out.shape[0] != 1:
            raise ValueError(
                f"The image_encoder {self.name!r} must map (n, 3, height, width) images to "
                f"(n, n_features) features; a batch of shape {tuple(probe.shape)} gave "
                f"{tuple(out.shape)}."
            )
        return int(out.shape[1])

    def frozen(self, image):
        """The frozen prefix's output (the standardised image when nothing is frozen)."""
        if self.augment and self.training:
            image = flip_and_shift(image)
        return self._run(self._standardize(image), 0, self.split)

    def _standardize(self, image):
        image = image.contiguous(memory_format=torch.channels_last)
        return (image - self.image_mean) / self.image_std

    def trainable(self, hidden):
        """The features, from the frozen prefix's output."""
        return self._run(hidden, self.split, self._n_units)

    def forward(self, image):
        return self.trainable(self.frozen(image))

    def train(self, mode=True):
        super().train(mode)
        if self._fixed_mode:
            self.encoder.eval()
        return self
