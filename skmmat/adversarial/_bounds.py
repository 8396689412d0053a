"""Interval bound propagation (IBP) through the paper's networks.

Given a box of inputs, a lower and an upper tensor per modality, interval
bound propagation (Gowal et al., 2018) carries the box through the network
layer by layer, each layer's output box containing every output the layer
can give on its input box:

* affine layers (convolutions, dense layers, evaluation-mode batch
  normalisation, the input standardisation) map the box's centre ``mu`` and
  radius ``r`` to ``W mu + b`` and ``|W| r``;
* monotone layers (ReLU, max-pooling, max-over-time pooling) map the lower
  and the upper end each on its own;
* dropout is the identity, as in evaluation mode.

The last linear layer is folded into the margins ``logit_y - logit_j``:
``(W_y - W_j) h + (b_y - b_j)`` is bounded over the hidden layer's box ``h``,
which is tighter than bounding each logit and subtracting.

Every function here is differentiable, so certified training can minimise a
loss of the bounds (:mod:`skmmat.adversarial._ibp`). The bounds are those of
the network's evaluation mode (running statistics in batch normalisation, no
dropout, no augmentation), whatever the module's training flag.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models._modules import MultiModalCNN, TextCNN, VisualCNN

__all__ = ["check_boundable", "margin_bounds"]

#: the layers whose bounds this module knows, and the containers whose forward it mirrors
_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.Dropout)
_CONTAINERS = (MultiModalCNN, VisualCNN, TextCNN, nn.Sequential)


def check_boundable(module):
    """Raise ValueError unless every part of ``module`` has sound interval bounds here.

    Parameters
    ----------
    module : MultiModalCNN
        The network; its containers must be exactly :class:`MultiModalCNN`,
        :class:`VisualCNN`, :class:`TextCNN` and :class:`torch.nn.Sequential`
        (a subclass may compute something else in its ``forward``), and its
        layers convolutions, dense layers, batch normalisation with running
        statistics, ReLU, max-pooling and dropout.

    Raises
    ------
    ValueError
        Naming the first part that cannot be bounded.
    """
    if type(module) is not MultiModalCNN:
        raise ValueError(
            "Interval bounds are computed through skmmat's MultiModalCNN; got a module of "
            f"type {type(module).__name__}."
        )
    if module.visual is not None and not isinstance(module.visual, VisualCNN):
        raise ValueError(
            f"Interval bounds cannot be computed through the {module.visual.name!r} "
            "image_encoder: certificates cover the paper's networks (image_encoder="
            "'visual_cnn' and the Text-CNN) only."
        )
    for name, part in module.named_modules():
        kind = type(part)
        if kind in _CONTAINERS:
            continue
        if kind not in _LAYERS:
            raise ValueError(
                f"Cannot bound the layer {name!r} ({kind.__name__}) of the network: interval "
                "bounds are known for Conv1d, Conv2d, Linear, BatchNorm2d, ReLU, MaxPool2d and "
                "Dropout only, and an unknown layer could make a certificate unsound."
            )
        if isinstance(part, nn.Conv1d | nn.Conv2d) and part.padding_mode != "zeros":
            raise ValueError(
                f"Cannot bound the layer {name!r}: padding_mode={part.padding_mode!r}; only "
                "zero padding is supported."
            )
        if isinstance(part, nn.BatchNorm2d) and part.running_mean is None:
            raise ValueError(
                f"Cannot bound the layer {name!r}: a BatchNorm2d without running statistics "
                "(track_running_stats=False) is no fixed map at evaluation time."
            )
        if isinstance(part, nn.MaxPool2d) and part.return_indices:
            raise ValueError(f"Cannot bound the layer {name!r}: it returns indices.")
    head = list(module.head)
    if not head or not isinstance(head[-1], nn.Linear):
        raise ValueError("The network's head must end with a Linear layer (the logits).")


def margin_bounds(module, lower, upper, y):
    """Bounds of the margins ``logit_y - logit_j`` of every class ``j`` over an input box.

    Parameters
    ----------
    module : MultiModalCNN
        The network (see :func:`check_boundable`).
    lower, upper : dict of str -> torch.Tensor
        The box: per modality the network reads, the lowest and highest
        value of every input, in the model layout (``"image"`` of shape
        ``(n, 3, height, width)``, ``"text"`` of shape ``(n, n_words,
        embedding_dim)``). A point input has ``lower == upper``. The bounds
        are computed in the dtype of these tensors (the module's float32 for
        a certificate and for training, float64 for a reference).
    y : torch.Tensor of int64, shape (n,)
        The class index of each row's true label.

    Returns
    -------
    lower, upper : torch.Tensor of shape (n, n_classes)
        For every input of the box, ``lower <= logit_y - logit_j <= upper``;
        the column of ``y`` itself is 0. The row is certified when every
        other column of ``lower`` is positive.

    Raises
    ------
    ValueError
        If the network holds a layer that cannot be bounded, a modality is
        missing, or a box has ``lower > upper`` somewhere.

    Examples
    --------
    >>> import torch
    >>> from skmmat.models import MultiModalCNN
    >>> from skmmat.adversarial import margin_bounds
    >>> net = MultiModalCNN(2, modalities=("text",), embedding_dim=4, hidden_units=3,
    ...                     text_filters=2).eval()
    >>> text = torch.randn(1, 5, 4)
    >>> low, high = margin_bounds(net, {"text": text - 0.1}, {"text": text + 0.1},
    ...                           torch.tensor([0]))
    >>> bool((low <= high).all()) and low.shape == (1, 2)
    True
    """
    h_lo, h_hi = hidden_bounds(module, lower, upper)
    last = module.head[-1]
    weight = last.weight.to(h_lo.dtype)
    bias = last.bias.to(h_lo.dtype) if last.bias is not None else None
    # (W_y - W_j) and (b_y - b_j) of each row's true class y against every class j
    w_diff = weight[y][:, None, :] - weight[None, :, :]
    mid, rad = (h_hi + h_lo) / 2, (h_hi - h_lo) / 2
    centre = torch.einsum("nch,nh->nc", w_diff, mid)
    if bias is not None:
        centre = centre + (bias[y][:, None] - bias[None, :])
    radius = torch.einsum("nch,nh->nc", w_diff.abs(), rad)
    return centre - radius, centre + radius


def hidden_bounds(module, lower, upper):
    """Bounds of the head's last hidden layer (the input of its last Linear layer).

    Parameters and errors as in :func:`margin_bounds`.

    Returns
    -------
    lower, upper : torch.Tensor of shape (n, hidden_units)
    """
    check_boundable(module)
    parts = []
    for modality, extractor, bound in (
        ("image", module.visual, _visual_bounds),
        ("text", module.textual, _text_bounds),
    ):
        if extractor is None:
            continue
        if modality not in lower or modality not in upper:
            raise ValueError(
                f"This network reads the {modality!r} modality; the box (lower and upper) "
                f"has no {modality!r} bounds."
            )
        lo, hi = lower[modality], upper[modality]
        if lo.shape != hi.shape:
            raise ValueError(
                f"The {modality!r} box has lower bounds of shape {tuple(lo.shape)} and upper "
                f"bounds of shape {tuple(hi.shape)}."
            )
        if bool((lo > hi).any()):
            raise ValueError(f"The {modality!r} box has lower > upper somewhere.")
        parts.append(bound(extractor, lo, hi))
    lo = torch.cat([p[0] for p in parts], dim=1)
    hi = torch.cat([p[1] for p in parts], dim=1)
    return _propagate(list(module.head)[:-1], lo, hi)


def _visual_bounds(visual, lo, hi):
    """The Visual-CNN's representation over an image box, as its forward computes it."""
    mean = visual.image_mean.to(lo.dtype)
    std = visual.image_std.to(lo.dtype)
    # channels-last memory, as the forward pass: the fast convolution kernels in float32
    lo = lo.contiguous(memory_format=torch.channels_last)
    hi = hi.contiguous(memory_format=torch.channels_last)
    mid, rad = (hi + lo) / 2, (hi - lo) / 2
    if bool((mean != 0).any() or (std != 1).any()):  # the input standardisation
        mid, rad = (mid - mean) / std, rad / std.abs()
    # the first layer (a convolution) takes the centre and radius as they are
    first, *rest = visual.features
    lo, hi = _ends(*_affine_centre(first, mid, rad))
    lo, hi = _propagate(rest, lo, hi)
    lo, hi = torch.flatten(lo, start_dim=1), torch.flatten(hi, start_dim=1)
    return _propagate([visual.fc, nn.ReLU()], lo, hi)


def _text_bounds(textual, lo, hi):
    """The Text-CNN's representation over a text box: convolution, ReLU, max over time."""
    lo, hi = _propagate([textual.conv, nn.ReLU()], lo.transpose(1, 2), hi.transpose(1, 2))
    return lo.amax(dim=2), hi.amax(dim=2)


def _propagate(layers, lo, hi):
    """Carry the box ``[lo, hi]`` through ``layers`` in order."""
    for layer in layers:
        if isinstance(layer, nn.Dropout):
            continue  # evaluation mode
        if isinstance(layer, nn.ReLU):
            lo, hi = torch.relu(lo), torch.relu(hi)
        elif isinstance(layer, nn.MaxPool2d):
            lo, hi = _max_pool(layer, lo), _max_pool(layer, hi)
        else:
            lo, hi = _affine(layer, lo, hi)
    return lo, hi


def _max_pool(layer, x):
    return F.max_pool2d(
        x, layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.ceil_mode
    )


def _affine(layer, lo, hi):
    """The box ``[lo, hi]`` through an affine layer."""
    return _ends(*_affine_centre(layer, (hi + lo) / 2, (hi - lo) / 2))


def _affine_centre(layer, mid, rad):
    """Centre and radius through an affine layer: ``W mu + b`` and ``|W| r``."""
    dtype = mid.dtype
    if isinstance(layer, nn.BatchNorm2d):
        scale = torch.rsqrt(layer.running_var.to(dtype) + layer.eps)
        shift = -layer.running_mean.to(dtype) * scale
        if layer.affine:
            shift = shift * layer.weight.to(dtype) + layer.bias.to(dtype)
            scale = scale * layer.weight.to(dtype)
        scale, shift = scale[None, :, None, None], shift[None, :, None, None]
        return mid * scale + shift, rad * scale.abs()
    weight = layer.weight.to(dtype)
    bias = None if layer.bias is None else layer.bias.to(dtype)
    if isinstance(layer, nn.Linear):
        return F.linear(mid, weight, bias), F.linear(rad, weight.abs())
    # Conv1d, Conv2d
    conv = F.conv1d if isinstance(layer, nn.Conv1d) else F.conv2d
    geometry = (layer.stride, layer.padding, layer.dilation, layer.groups)
    return conv(mid, weight, bias, *geometry), conv(rad, weight.abs(), None, *geometry)


def _ends(mid, rad):
    """``(mid - rad, mid + rad)``, written over the two (new) tensors when no gradient is
    taken: the box's ends after a convolution are the biggest tensors of a pass."""
    if torch.is_grad_enabled() and (mid.requires_grad or rad.requires_grad):
        return mid - rad, mid + rad
    hi = torch.add(mid, rad)
    return mid.sub_(rad), hi
