"""Preprocessing: tweet images and texts to the paper's network inputs."""

from ._image import ImageResizer
from ._text import GloveSequencer
from ._tokenize import tokenize_tweet

__all__ = ["GloveSequencer", "ImageResizer", "tokenize_tweet"]
