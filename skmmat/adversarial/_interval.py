"""Interval arithmetic of tensor operations: :class:`Box`, and one pass of a network on boxes.

A :class:`Box` stands in for a tensor in a network's forward pass. torch hands
every operation on it to :meth:`Box.__torch_function__`, which applies the
operation's interval counterpart (see :mod:`skmmat.adversarial._bounds` for the
list) or refuses, naming the module that called it.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import torch
import torch.nn.functional as F

__all__ = ["Box", "walking"]


class _Walk:
    """The state of one pass: the module being run, and the last dense layer's input."""

    def __init__(self):
        self.names = []
        self.last_linear = None  # (input box, weight, bias, output box)

    def where(self):
        return repr(self.names[-1]) if self.names and self.names[-1] else "the network"

    def refuse(self, what):
        raise ValueError(
            f"Cannot bound {what} in the module {self.where()}: interval bounds are known for "
            "convolutions, dense layers, batch normalisation, ReLU, ReLU6, clamps, pooling, "
            "residual sums, concatenation, shape changes and arithmetic with constants only, "
            "and any other operation could make a certificate unsound."
        )


_STATE = threading.local()  # the pass in progress in this thread


def _current():
    walk = getattr(_STATE, "walk", None)
    if walk is None:  # a Box used outside a pass
        raise ValueError("A Box is only propagated inside margin_bounds or hidden_bounds.")
    return walk


class Box:
    """A box of tensors: each value between ``lower`` and ``upper``.

    Held either as its two ends or as its centre and radius, whichever the
    last operation produced; the other form is computed when an operation
    needs it.

    Parameters
    ----------
    lower, upper : torch.Tensor, optional
        The ends.
    centre, radius : torch.Tensor, optional
        The centre and the (non-negative) radius, instead of the ends.
    """

    __slots__ = ("_lo", "_hi", "_mid", "_rad")

    def __init__(self, lower=None, upper=None, *, centre=None, radius=None):
        self._lo, self._hi, self._mid, self._rad = lower, upper, centre, radius

    # the two forms ---------------------------------------------------------
    def ends(self):
        """``(lower, upper)``."""
        if self._lo is None:
            self._lo, self._hi = self._mid - self._rad, self._mid + self._rad
        return self._lo, self._hi

    def centre(self):
        """``(centre, radius)``."""
        if self._mid is None:
            self._mid, self._rad = (self._hi + self._lo) / 2, (self._hi - self._lo) / 2
        return self._mid, self._rad

    def _map(self, fn):
        """Apply a shape operation (or a copy) to both tensors of each form held."""
        out = Box()
        if self._lo is not None:
            out._lo, out._hi = fn(self._lo), fn(self._hi)
        if self._mid is not None:
            out._mid, out._rad = fn(self._mid), fn(self._rad)
        return out

    def _assign(self, other):
        """Make this box ``other`` (an in-place operation)."""
        self._lo, self._hi, self._mid, self._rad = other._lo, other._hi, other._mid, other._rad
        return self

    def _monotone(self, fn):
        lo, hi = self.ends()
        return Box(fn(lo), fn(hi))

    # what a forward pass reads -----------------------------------------------
    @property
    def _any(self):
        return self._lo if self._lo is not None else self._mid

    @property
    def shape(self):
        return self._any.shape

    @property
    def ndim(self):
        return self._any.ndim

    @property
    def dtype(self):
        return self._any.dtype

    @property
    def device(self):
        return self._any.device

    def dim(self):
        return self._any.dim()

    def size(self, *dim):
        return self._any.size(*dim)

    # shape operations ----------------------------------------------------------
    def contiguous(self, *args, **kwargs):
        return self._map(lambda t: t.contiguous(*args, **kwargs))

    def flatten(self, *args, **kwargs):
        return self._map(lambda t: t.flatten(*args, **kwargs))

    def reshape(self, *args):
        return self._map(lambda t: t.reshape(*args))

    def view(self, *args):
        return self._map(lambda t: t.view(*args))

    def transpose(self, *args):
        return self._map(lambda t: t.transpose(*args))

    def permute(self, *args):
        return self._map(lambda t: t.permute(*args))

    def squeeze(self, *args):
        return self._map(lambda t: t.squeeze(*args))

    def unsqueeze(self, *args):
        return self._map(lambda t: t.unsqueeze(*args))

    # monotone reductions -------------------------------------------------------
    def amax(self, *args, **kwargs):
        return self._monotone(lambda t: t.amax(*args, **kwargs))

    def mean(self, *args, **kwargs):
        return self._monotone(lambda t: t.mean(*args, **kwargs))

    def relu(self):
        return self._monotone(torch.relu)

    # arithmetic ------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, Box):  # a residual sum
            mid, rad = self.centre()
            other_mid, other_rad = other.centre()
            return Box(centre=mid + other_mid, radius=rad + other_rad)
        mid, rad = self.centre()
        return Box(centre=mid + _constant(other), radius=rad)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Box):
            return self + (-other)
        mid, rad = self.centre()
        return Box(centre=mid - _constant(other), radius=rad)

    def __rsub__(self, other):
        return (-self) + other

    def __neg__(self):
        mid, rad = self.centre()
        return Box(centre=-mid, radius=rad)

    def __mul__(self, other):
        other = _constant(other)
        mid, rad = self.centre()
        return Box(centre=mid * other, radius=rad * abs(other))

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = _constant(other)
        mid, rad = self.centre()
        return Box(centre=mid / other, radius=rad / abs(other))

    def __bool__(self):
        _current().refuse("a branch on a box's values (bool)")

    def __getattr__(self, name):
        if name.startswith("__"):  # protocols torch and Python probe for
            raise AttributeError(name)
        _current().refuse(f"the tensor method {name!r}")

    # torch functions -------------------------------------------------------------
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        handler = _HANDLERS.get(func)
        if handler is None:
            name = getattr(func, "__name__", repr(func))
            _current().refuse(f"the operation {name!r}")
        return handler(*args, **(kwargs or {}))


def _constant(value):
    if isinstance(value, Box):
        _current().refuse("a product or quotient of two boxes")
    return value


def _ends(mid, rad):
    """``(mid - rad, mid + rad)``, written over the two (new) tensors when no gradient is
    taken: the box's ends after a convolution are the biggest tensors of a pass."""
    if torch.is_grad_enabled() and (mid.requires_grad or rad.requires_grad):
        return mid - rad, mid + rad
    hi = torch.add(mid, rad)
    return mid.sub_(rad), hi


def _affine(op, box, weight, bias, **kwargs):
    """The box through ``op(x, weight, bias)``: ``W mu + b`` and ``|W| r``, then its ends."""
    mid, rad = box.centre()
    weight = weight.to(mid.dtype)
    bias = None if bias is None else bias.to(mid.dtype)
    return Box(*_ends(op(mid, weight, bias, **kwargs), op(rad, weight.abs(), None, **kwargs)))


def _conv(op):
    def handler(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        return _affine(op, input, weight, bias, **geometry)

    return handler


def _linear(input, weight, bias=None):
    out = _affine(F.linear, input, weight, bias)
    _current().last_linear = (input, weight, bias, out)
    return out


def _batch_norm(
    input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    if running_mean is None or running_var is None:
        _current().refuse("batch normalisation without running statistics")
    mid, rad = input.centre()
    dtype = mid.dtype
    scale = torch.rsqrt(running_var.to(dtype) + eps)
    shift = -running_mean.to(dtype) * scale
    if weight is not None:
        shift = shift * weight.to(dtype) + bias.to(dtype)
        scale = scale * weight.to(dtype)
    shape = (1, -1) + (1,) * (mid.ndim - 2)
    scale, shift = scale.view(shape), shift.view(shape)
    return Box(*_ends(mid * scale + shift, rad * scale.abs()))


def _monotone(fn):
    def handler(input, *args, **kwargs):
        if kwargs.get("return_indices"):
            _current().refuse("pooling that returns indices")
        kwargs.pop("inplace", None)
        return input._monotone(lambda t: fn(t, *args, **kwargs))

    return handler


def _inplace_relu(input):
    return input._assign(input.relu())


def _dropout(input, p=0.5, training=True, inplace=False):
    if training:
        _current().refuse("dropout in training mode")
    return input


def _shape(fn):
    def handler(input, *args, **kwargs):
        return input._map(lambda t: fn(t, *args, **kwargs))

    return handler


def _cat(tensors, dim=0):
    boxes = [t if isinstance(t, Box) else Box(t, t) for t in tensors]
    ends = [b.ends() for b in boxes]
    return Box(torch.cat([e[0] for e in ends], dim), torch.cat([e[1] for e in ends], dim))


def _pad(input, pad, mode="constant", value=None):
    return input._monotone(lambda t: F.pad(t, pad, mode=mode, value=value))


_HANDLERS = {
    torch.conv1d: _conv(F.conv1d),
    torch.conv2d: _conv(F.conv2d),
    F.linear: _linear,
    F.batch_norm: _batch_norm,
    F.relu: _monotone(torch.relu),
    torch.relu: _monotone(torch.relu),
    torch.relu_: _inplace_relu,
    F.relu6: _monotone(F.relu6),
    F.hardtanh: _monotone(F.hardtanh),
    torch.clamp: _monotone(torch.clamp),
    F.max_pool1d: _monotone(F.max_pool1d),
    F.max_pool2d: _monotone(F.max_pool2d),
    F.avg_pool2d: _monotone(F.avg_pool2d),
    F.adaptive_avg_pool2d: _monotone(F.adaptive_avg_pool2d),
    torch.mean: _monotone(torch.mean),
    torch.amax: _monotone(torch.amax),
    F.dropout: _dropout,
    F.pad: _pad,
    torch.flatten: _shape(torch.flatten),
    torch.reshape: _shape(torch.reshape),
    torch.transpose: _shape(torch.transpose),
    torch.cat: _cat,
}


def _enter(names, name, module, args):
    names.append(name)  # returns None: the input stays the module's


@contextlib.contextmanager
def walking(module):
    """One pass: the module in evaluation mode, each module's name on a stack for messages."""
    if getattr(_STATE, "walk", None) is not None:
        raise RuntimeError("Interval bounds are computed one pass at a time in a thread.")
    walk = _Walk()
    handles = []

    def leave(module, args, output):
        walk.names.pop()  # returns None: the output stays the module's

    for name, part in module.named_modules():
        enter = functools.partial(_enter, walk.names, name)
        handles.append(part.register_forward_pre_hook(enter))
        handles.append(part.register_forward_hook(leave))
    was_training = module.training
    module.eval()
    _STATE.walk = walk
    try:
        yield walk
    finally:
        _STATE.walk = None
        module.train(was_training)
        for handle in handles:
            handle.remove()
