"""Interval bound propagation (IBP) through a network, by running its own forward pass on boxes.

Given a box of inputs, a lower and an upper tensor per modality, interval
bound propagation (Gowal et al., 2018) carries the box through the network,
each operation's output box containing every output the operation can give on
its input box. The boxes travel through the network's *own* ``forward``:
they are :class:`Box` objects, which torch hands back to this module for
every operation they meet (``__torch_function__``). So the bounds follow
whatever the forward pass computes, and a new layer or encoder built from the
operations below gets bounds without a change here:

* affine operations (convolutions, depthwise ones included; dense layers;
  evaluation-mode batch normalisation; adding, subtracting, multiplying or
  dividing by a constant, such as an input standardisation) map the box's
  centre ``mu`` and radius ``r`` to ``W mu + b`` and ``|W| r``;
* the sum of two boxes (a residual connection) adds centres and radii;
* monotone operations (ReLU, ReLU6 and other clamps, max- and average
  pooling, the mean and the maximum over an axis, padding) map the lower and
  the upper end each on its own;
* shape operations (flatten, reshape, transpose, concatenation) move both;
* dropout is the identity, as in evaluation mode.

Any other operation raises a ValueError naming the module that calls it: a
certificate through an operation without a sound bound would be a guess.

The network's last operation must be a dense layer (the logits); it is folded
into the margins ``logit_y - logit_j``: ``(W_y - W_j) h + (b_y - b_j)`` is
bounded over the box ``h`` of its input, which is tighter than bounding each
logit and subtracting.

Every operation is differentiable, so certified training can minimise a loss
of the bounds (:mod:`skmmat.adversarial._ibp`). The bounds are those of the
network's evaluation mode (running statistics in batch normalisation, no
dropout, no augmentation): the network is put in evaluation mode for the
pass and then back.
"""

from __future__ import annotations

import torch
from torch import nn

from ._interval import Box, walking

__all__ = ["LEAF_LAYERS", "check_boundable", "hidden_bounds", "margin_bounds"]

#: leaf layers (modules without children) whose forward pass is known to be boundable
LEAF_LAYERS = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Linear,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.ReLU,
    nn.ReLU6,
    nn.Hardtanh,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Dropout,
    nn.Flatten,
    nn.Identity,
)


def check_boundable(module):
    """Raise ValueError unless every torch layer of ``module`` is one interval bounds know.

    The layers of :mod:`torch.nn` must be of the kinds in
    :data:`LEAF_LAYERS` (convolutions, dense layers, batch normalisation with
    running statistics, ReLU, ReLU6, pooling without indices, dropout,
    flatten, identity). Every other module, skmmat's and the user's, is
    bounded through its own ``forward``; an operation there without a sound
    bound raises when the bounds are computed, naming the module. This check
    finds the layers known to have none before any work is done.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Raises
    ------
    ValueError
        Naming the first layer that cannot be bounded.
    """
    for name, part in module.named_modules():
        if next(part.children(), None) is not None:
            continue  # a container: its forward pass is followed operation by operation
        builtin = type(part).__module__.startswith("torch.nn.")
        if builtin and not isinstance(part, LEAF_LAYERS):
            raise ValueError(
                f"Cannot bound the layer {name!r} ({type(part).__name__}) of the network: "
                "interval bounds are known for convolutions, Linear, batch normalisation, "
                "ReLU, ReLU6, pooling, Dropout, Flatten and Identity layers only, and an "
                "unknown layer could make a certificate unsound."
            )
        if isinstance(part, nn.BatchNorm1d | nn.BatchNorm2d) and part.running_mean is None:
            raise ValueError(
                f"Cannot bound the layer {name!r}: a batch normalisation without running "
                "statistics (track_running_stats=False) is no fixed map at evaluation time."
            )
        if isinstance(part, nn.MaxPool1d | nn.MaxPool2d) and part.return_indices:
            raise ValueError(f"Cannot bound the layer {name!r}: it returns indices.")


def _input_boxes(module, lower, upper):
    """The per-modality boxes of ``lower`` and ``upper``, checked."""
    modalities = getattr(module, "modalities", tuple(lower))
    boxes = {}
    for modality in modalities:
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
        boxes[modality] = Box(lo, hi)
    return boxes


def _logits_layer(module, lower, upper):
    """Run the network on the box; the input box, weight and bias of its final dense layer."""
    check_boundable(module)
    boxes = _input_boxes(module, lower, upper)
    with walking(module) as walk:
        out = module(**boxes)
    if walk.last_linear is None or out is not walk.last_linear[3]:
        raise ValueError(
            "The network must end with a Linear layer (the logits): its output is bounded as "
            "margins between the logits, folded into that layer."
        )
    return walk.last_linear[:3]


def hidden_bounds(module, lower, upper):
    """Bounds of the input of the network's final dense layer (its last hidden layer).

    Parameters and errors as in :func:`margin_bounds`.

    Returns
    -------
    lower, upper : torch.Tensor of shape (n, hidden_units)
    """
    box, _, _ = _logits_layer(module, lower, upper)
    return box.ends()


def margin_bounds(module, lower, upper, y):
    """Bounds of the margins ``logit_y - logit_j`` of every class ``j`` over an input box.

    Parameters
    ----------
    module : torch.nn.Module
        The network, such as :class:`~skmmat.models.MultiModalCNN`: its
        ``forward`` takes one tensor per modality as keyword arguments and
        ends with a Linear layer; see :func:`check_boundable` and the module
        notes for the operations it may use.
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
        If the network holds a layer or calls an operation that cannot be
        bounded (the message names the module), does not end with a Linear
        layer, a modality is missing, or a box has ``lower > upper``
        somewhere.

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
    box, weight, bias = _logits_layer(module, lower, upper)
    h_lo, h_hi = box.ends()
    weight = weight.to(h_lo.dtype)
    bias = bias.to(h_lo.dtype) if bias is not None else None
    # (W_y - W_j) and (b_y - b_j) of each row's true class y against every class j
    w_diff = weight[y][:, None, :] - weight[None, :, :]
    mid, rad = (h_hi + h_lo) / 2, (h_hi - h_lo) / 2
    centre = torch.einsum("nch,nh->nc", w_diff, mid)
    if bias is not None:
        centre = centre + (bias[y][:, None] - bias[None, :])
    radius = torch.einsum("nch,nh->nc", w_diff.abs(), rad)
    return centre - radius, centre + radius
