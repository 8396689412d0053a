"""Adversarial examples (Equations 1 and 2), adversarial training (Algorithm 1), interval bounds."""

from ._base import BasePerturber, estimator_modalities
from ._bounds import check_boundable, margin_bounds
from ._craft import craft_adversarial, resolve_perturbers
from ._fgsm import FGSMPerturber
from ._threat_model import ThreatModel
from ._word_substitution import WordSubstitutionPerturber
from ._wrapper import AdversarialAugmentationWrapper

__all__ = [
    "AdversarialAugmentationWrapper",
    "BasePerturber",
    "check_boundable",
    "FGSMPerturber",
    "WordSubstitutionPerturber",
    "craft_adversarial",
    "estimator_modalities",
    "margin_bounds",
    "resolve_perturbers",
    "ThreatModel",
]
