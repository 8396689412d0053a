"""The classifier's parameters: those that define the network, those that define a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ._encoder import check_fine_tune, is_visual_cnn
from ._features import module_digest
from ._inputs import normalize_filters, normalize_modalities

__all__ = ["ARCHITECTURE_PARAMS", "check_architecture", "group_codes", "run_params"]

# Parameters that define the network; warm starting requires them unchanged.
ARCHITECTURE_PARAMS = (
    "modalities",
    "hidden_units",
    "text_window",
    "image_filters",
    "text_filters",
    "dropout",
    "image_augmentation",
    "image_batch_norm",
    "image_encoder",
    "fine_tune",
)

# Parameters that do not change what a training run computes (left out of the
# checkpoint fingerprint).
RUN_INDEPENDENT_PARAMS = (
    "callbacks",
    "checkpoint_dir",
    "device",
    "eval_batch_size",
    "feature_cache",
    "max_epochs",
    "n_threads",
    "verbose",
    "warm_start",
)


def check_architecture(clf, caller):
    """What the parameters' constraints cannot check; the normalised architecture.

    Parameters
    ----------
    clf : MultiModalCNNClassifier
        Its parameters already checked against their constraints.
    caller : str
        Name used in messages.

    Returns
    -------
    arch : dict
        The parameters of :data:`ARCHITECTURE_PARAMS`, normalised.
    """
    if clf.device is not None:
        try:
            torch.device(clf.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"The 'device' parameter of {caller} is not a valid torch device. "
                f"Got {clf.device!r} instead."
            ) from exc
    arch = {name: getattr(clf, name) for name in ARCHITECTURE_PARAMS}
    arch["modalities"] = normalize_modalities(clf.modalities, caller)
    arch["image_filters"] = normalize_filters(clf.image_filters, caller)
    if not is_visual_cnn(clf.image_encoder):
        check_fine_tune(clf.fine_tune, clf.image_encoder, caller)
        for name in ("image_standardization", "image_batch_norm"):
            if getattr(clf, name):
                raise ValueError(
                    f"The '{name}' parameter of {caller} applies to "
                    "image_encoder='visual_cnn' only; a pretrained encoder standardises "
                    "and normalises its input itself."
                )
    return arch


def run_params(clf):
    """The parameters that define a training run (its checkpoint fingerprint)."""
    params = clf.get_params(deep=False)
    if isinstance(clf.image_encoder, nn.Module):  # its weights, not its repr
        params["image_encoder"] = module_digest(clf.image_encoder.state_dict(), "custom")
    return {k: v for k, v in params.items() if k not in RUN_INDEPENDENT_PARAMS}


def group_codes(column):
    """Integer codes of a column's values (equal values, equal codes)."""
    codes, _ = pd.factorize(column, use_na_sentinel=False)
    return codes.astype(np.int64)
