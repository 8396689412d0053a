"""skorch callbacks of :class:`~skmmat.MultiModalCNNClassifier`: checkpoints and progress."""

from ._checkpoint import CHECKPOINT_FORMAT, TrainingCheckpoint, training_fingerprint
from ._progress import EpochProgress

__all__ = ["CHECKPOINT_FORMAT", "EpochProgress", "TrainingCheckpoint", "training_fingerprint"]
