"""Multi-modal CNN models (Visual-CNN, Text-CNN and their fusion, MMN)."""

from ._classifier import MultiModalCNNClassifier
from ._modules import MultiModalCNN, TextCNN, VisualCNN

__all__ = ["MultiModalCNNClassifier", "MultiModalCNN", "TextCNN", "VisualCNN"]
