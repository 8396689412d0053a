"""The threat model, adversarial examples (Equations 1 and 2), robust training, interval bounds.

:class:`ThreatModel` says what an attacker may change; the perturbers craft
adversarial examples within it; :class:`~skmmat.AdversarialAugmentationWrapper`
trains against them (Algorithm 1, in-loop, TRADES, certified training);
:class:`RandomizedSmoothingClassifier` votes over random word noise and
certifies its votes; and :func:`margin_bounds` bounds a network over its boxes.
"""

from ._base import BasePerturber, estimator_modalities
from ._bounds import check_boundable, margin_bounds
from ._craft import craft_adversarial, resolve_perturbers
from ._fgsm import FGSMPerturber
from ._smoothing import RandomizedSmoothingClassifier
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
    "RandomizedSmoothingClassifier",
    "resolve_perturbers",
    "ThreatModel",
]
