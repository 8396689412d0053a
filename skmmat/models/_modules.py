"""PyTorch modules of the multi-modal neural network (MMN).

The architecture follows Section III-A of Chen et al. (MMAT):

* :class:`VisualCNN` -- blocks of ``Conv2d(3x3) + ReLU + MaxPool2d(2)``
  (computed as pooling, then ReLU: the two commute),
  a flatten layer and a fully-connected layer with ReLU;
* :class:`TextCNN` -- a Kim-style 1-D convolution over the word axis
  followed by ReLU and max-over-time pooling;
* :class:`MultiModalCNN` -- one or both feature extractors, concatenated,
  followed by dropout, a fully-connected hidden layer with ReLU, dropout and
  a linear output layer that returns class logits.
"""

from __future__ import annotations

import torch
from torch import nn

from ._augment import flip_and_shift
from ._encoder import EncoderBranch, is_visual_cnn

__all__ = ["VisualCNN", "TextCNN", "MultiModalCNN", "MODALITIES"]

#: Modalities understood by :class:`MultiModalCNN`, in canonical order.
MODALITIES = ("image", "text")


class VisualCNN(nn.Module):
    """Visual-CNN feature extractor.

    Parameters
    ----------
    image_size : tuple of int
        ``(height, width)`` of the input images.
    filters : sequence of int, default=(32, 64)
        Number of 3x3 convolution filters of each convolution/pooling block.
    hidden_units : int, default=64
        Size of the fully-connected layer after the flatten layer, which is
        also the size of the returned representation.
    in_channels : int, default=3
        Number of colour channels.

    Notes
    -----
    The forward pass takes a channels-first tensor of shape
    ``(n, in_channels, height, width)`` and returns ``(n, hidden_units)``;
    inside, the convolutions run on a channels-last copy of the batch (same
    values, faster kernels), so gradients come back in the caller's shape.
    The buffers ``image_mean`` and ``image_std`` (shape ``(1, in_channels,
    1, 1)``, zeros and ones by default) standardise the input first.

    With ``batch_norm=True`` each convolution is followed by a
    :class:`~torch.nn.BatchNorm2d` (batch statistics in training mode, running
    statistics in evaluation mode). With ``augment=True`` and the module in
    training mode, each image of a batch is flipped left to right with
    probability 1/2 and shifted by up to an eighth of its height and width
    (reflected at the borders); in evaluation mode (prediction, gradients
    for the attacks) the input is used as given.
    """

    def __init__(
        self,
        image_size,
        filters=(32, 64),
        hidden_units=64,
        in_channels=3,
        augment=False,
        batch_norm=False,
    ):
        super().__init__()
        self.augment = bool(augment)
        height, width = (int(s) for s in image_size)
        layers = []
        channels = in_channels
        for n_filters in filters:
            layers.append(nn.Conv2d(channels, int(n_filters), kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(int(n_filters)))
            # pooling before the ReLU: max and ReLU commute (the same values and the same
            # gradients, bit for bit), and the ReLU then touches a quarter of the values;
            # an input-gradient pass over 64x64 images runs 24 % faster
            layers += [nn.MaxPool2d(2), nn.ReLU()]
            channels = int(n_filters)
            height, width = height // 2, width // 2
        if height < 1 or width < 1:
            raise ValueError(
                f"Images of size {tuple(image_size)} are too small for {len(filters)} "
                f"pooling blocks; each side must be at least {2 ** len(filters)} pixels."
            )
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels * height * width, int(hidden_units))
        self.out_features = int(hidden_units)
        # per-channel input standardisation inside the network (identity unless set), so
        # that the public input stays in [0, 1] and an attack's eps keeps its meaning
        self.register_buffer("image_mean", torch.zeros(1, in_channels, 1, 1))
        self.register_buffer("image_std", torch.ones(1, in_channels, 1, 1))

    def forward(self, image):
        if self.augment and self.training:
            image = flip_and_shift(image)
        # channels-last memory (the same tensor values, stored pixel by pixel): oneDNN's
        # convolutions and max-pooling run 3x faster on it on CPU than on channels-first
        # memory (whole forward pass; 1.7x for a training step), and cuDNN prefers it too
        image = image.contiguous(memory_format=torch.channels_last)
        z = self.features((image - self.image_mean) / self.image_std)
        return torch.relu(self.fc(torch.flatten(z, start_dim=1)))


class TextCNN(nn.Module):
    """Text-CNN feature extractor (Kim, 2014).

    Parameters
    ----------
    embedding_dim : int
        Dimension ``d`` of the word vectors.
    filters : int, default=64
        Number of convolution filters, which is also the size of the returned
        representation.
    window : int, default=2
        Number of contiguous words each filter looks at.

    Notes
    -----
    The forward pass takes a tensor of shape ``(n, n_words, embedding_dim)``
    (``n_words >= window``) and returns ``(n, filters)``: the maximum over
    word positions of each filter's ReLU activation.
    """

    def __init__(self, embedding_dim, filters=64, window=2):
        super().__init__()
        self.conv = nn.Conv1d(int(embedding_dim), int(filters), kernel_size=int(window))
        self.out_features = int(filters)

    def forward(self, text):
        z = torch.relu(self.conv(text.transpose(1, 2)))
        return z.amax(dim=2)


class MultiModalCNN(nn.Module):
    """Multi-modal neural network (MMN) and its single-modality baselines.

    With ``modalities=("image", "text")`` this is the MMN of the paper; with
    ``("image",)`` it is the Visual-CNN baseline and with ``("text",)`` the
    Text-CNN baseline (each topped by the same classification head).

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    modalities : sequence of {"image", "text"}, default=("image", "text")
        Input modalities to use.
    image_size : tuple of int, optional
        ``(height, width)`` of the images; required when ``"image"`` is used.
    embedding_dim : int, optional
        Word-vector dimension; required when ``"text"`` is used.
    hidden_units : int, default=64
        Size of the Visual-CNN fully-connected layer and of the hidden layer
        of the classification head.
    text_window : int, default=2
        Width (in words) of the Text-CNN filters.
    image_filters : sequence of int, default=(32, 64)
        Filters of each Visual-CNN convolution block.
    text_filters : int, default=64
        Number of Text-CNN filters.
    dropout : float, default=0.5
        Dropout probability before the hidden layer and before the output
        layer.
    image_augmentation : bool, default=False
        Random flips and shifts of the training images (see
        :class:`VisualCNN`).
    image_batch_norm : bool, default=False
        Batch normalisation after each Visual-CNN convolution.
    image_encoder : str or torch.nn.Module, default="visual_cnn"
        The image branch: the paper's :class:`VisualCNN`, a pretrained
        encoder by name (``"efficientnet_lite0"``) or a module of the user's
        mapping ``(n, 3, height, width)`` images to ``(n, n_features)``
        features; the last two are wrapped in an
        :class:`EncoderBranch`, whose pooled
        features feed the head directly.
    fine_tune : {"none", "all"} or int, default="none"
        Which parameters of a pretrained encoder train (see
        :class:`~skmmat.MultiModalCNNClassifier`).
    pretrained : bool, default=True
        Load a named encoder's ImageNet weights.

    Notes
    -----
    :meth:`forward` takes keyword arguments ``image`` (float tensor of shape
    ``(n, 3, height, width)``) and/or ``text`` (``(n, n_words,
    embedding_dim)``) and returns logits of shape ``(n, n_classes)``. With a
    pretrained encoder, ``image_frozen`` may replace ``image``: the output
    of the encoder's frozen prefix, computed once per fit.
    """

    def __init__(
        self,
        n_classes,
        modalities=MODALITIES,
        image_size=None,
        embedding_dim=None,
        hidden_units=64,
        text_window=2,
        image_filters=(32, 64),
        text_filters=64,
        dropout=0.5,
        image_augmentation=False,
        image_batch_norm=False,
        image_encoder="visual_cnn",
        fine_tune="none",
        pretrained=True,
    ):
        super().__init__()
        modalities = tuple(modalities)
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown or not modalities:
            raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}.")
        self.modalities = tuple(m for m in MODALITIES if m in modalities)
        width = 0
        self.visual = None
        self.textual = None
        if "image" in self.modalities:
            if image_size is None:
                raise ValueError("image_size is required when the image modality is used.")
            if is_visual_cnn(image_encoder):
                self.visual = VisualCNN(
                    image_size,
                    image_filters,
                    hidden_units,
                    augment=image_augmentation,
                    batch_norm=image_batch_norm,
                )
            else:
                self.visual = EncoderBranch(
                    image_encoder, image_size, fine_tune, pretrained, image_augmentation
                )
            width += self.visual.out_features
        if "text" in self.modalities:
            if embedding_dim is None:
                raise ValueError("embedding_dim is required when the text modality is used.")
            self.textual = TextCNN(embedding_dim, text_filters, text_window)
            width += self.textual.out_features
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(width, int(hidden_units)),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(int(hidden_units), int(n_classes)),
        )

    def representation(self, image=None, text=None, image_frozen=None):
        """Concatenated multi-modal representation, before the head."""
        parts = []
        if self.visual is not None:
            if image_frozen is not None:
                parts.append(self.visual.trainable(image_frozen))
            elif image is None:
                raise ValueError("This model uses the image modality; pass image=...")
            else:
                parts.append(self.visual(image))
        if self.textual is not None:
            if text is None:
                raise ValueError("This model uses the text modality; pass text=...")
            parts.append(self.textual(text))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward(self, image=None, text=None, image_frozen=None):
        return self.head(self.representation(image=image, text=text, image_frozen=image_frozen))
