"""skmmat: multi-modal adversarial training for crisis-tweet classification.

A scikit-learn compatible implementation of MMAT (Chen et al., "Multi-modal
Adversarial Training for Crisis-related Data Classification on Social Media").

The public API:

* data: :func:`load_crisismmd`, :func:`make_crisis_tweets`;
* preprocessing: :class:`ImageResizer`, :class:`GloveSequencer`;
* models: :class:`MultiModalCNNClassifier` (Visual-CNN, Text-CNN, MMN);
* adversarial: :class:`FGSMPerturber`, :class:`WordSubstitutionPerturber`,
  :class:`AdversarialAugmentationWrapper` (MMAT);
* evaluation: :mod:`skmmat.metrics`.
"""

from ._persistence import load_model, model_card, save_model
from ._version import __version__  # noqa: F401
from .adversarial import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    WordSubstitutionPerturber,
)
from .datasets import load_crisismmd, make_crisis_tweets
from .models import MultiModalCNNClassifier
from .preprocessing import GloveSequencer, ImageResizer

__all__ = [
    "AdversarialAugmentationWrapper",
    "FGSMPerturber",
    "GloveSequencer",
    "ImageResizer",
    "MultiModalCNNClassifier",
    "WordSubstitutionPerturber",
    "load_crisismmd",
    "load_model",
    "make_crisis_tweets",
    "model_card",
    "save_model",
]
