"""skmmat: multi-modal adversarial training for crisis-tweet classification.

A scikit-learn compatible implementation of MMAT (Chen et al., "Multi-modal
Adversarial Training for Crisis-related Data Classification on Social Media").
"""

__version__ = "0.1.0.dev0"
