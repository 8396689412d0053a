"""Multi-modal CNN models (Visual-CNN, Text-CNN and their fusion, MMN) and the image encoders."""

from ._classifier import MultiModalCNNClassifier
from ._efficientnet import EfficientNetLite0
from ._encoder import EncoderBranch
from ._modules import MultiModalCNN, TextCNN, VisualCNN

__all__ = [
    "EfficientNetLite0",
    "EncoderBranch",
    "MultiModalCNNClassifier",
    "MultiModalCNN",
    "TextCNN",
    "VisualCNN",
]
