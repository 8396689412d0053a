"""Random flips and shifts of training images, inside the image branches."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["flip_and_shift"]


def flip_and_shift(image):
    """Random left-right flips and shifts of up to 1/8 of each side, one per image."""
    n, _, height, width = image.shape
    flip = torch.rand(n, device=image.device) < 0.5
    image = torch.where(flip[:, None, None, None], image.flip(3), image)
    dy, dx = max(1, height // 8), max(1, width // 8)
    padded = nn.functional.pad(image, (dx, dx, dy, dy), mode="reflect")
    top = torch.randint(0, 2 * dy + 1, (n,), device=image.device).tolist()
    left = torch.randint(0, 2 * dx + 1, (n,), device=image.device).tolist()
    return torch.stack(
        [padded[i, :, t : t + height, u : u + width] for i, (t, u) in enumerate(zip(top, left))]
    )
