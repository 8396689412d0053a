"""The command line's parser: its commands and their arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._options import add_training_arguments

__all__ = ["build_parser"]

_EPILOG = "Docs: https://skmmat.readthedocs.io  ·  Paper: Chen et al., MMAT (see README)."


def _table1_choices():
    from ..experiments import TABLE1_MODELS

    return list(TABLE1_MODELS)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skmmat",
        description="Multi-modal adversarial training (MMAT) for crisis tweets.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"skmmat {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    common.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    common.add_argument(
        "--epochs", type=int, default=None, help="maximum training epochs per model"
    )
    add_training_arguments(common)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="train Table I's six models on the embedded demo data",
        description="Train Visual-CNN, Visual-CNN_adv, Text-CNN, Text-CNN_adv, MMN and MMAT on "
        "the embedded demo tweets and print a Table-I-style table of original and adversarial "
        "accuracy. With --out, also write report.md, table1.png and examples.png.",
    )
    demo.add_argument("--out", type=Path, help="folder for report.md, table1.png, examples.png")
    demo.add_argument("--n-samples", type=int, default=800, help="demo tweets (default: 800)")
    demo.add_argument(
        "--image-size", type=int, default=64, help="side of the resized images (default: 64)"
    )

    table1 = sub.add_parser(
        "table1",
        parents=[common],
        help="reproduce Table I on CrisisMMD",
        description="Per disaster: a stratified test split, the six models (the text ones only "
        "when the images are absent), original and adversarial accuracy and macro-F1. With "
        "--out, also write report.md with a figure per event and, where MMN was trained on "
        "images and text, the case study of the paper's Fig. 4 and 5.",
    )
    table1.add_argument("--data", type=Path, required=True, help="CrisisMMD v2.0 root folder")
    table1.add_argument("--events", nargs="+", help="events (default: every annotation file)")
    table1.add_argument(
        "--models",
        nargs="+",
        choices=_table1_choices(),
        metavar="MODEL",
        help=f"models to run, any of {', '.join(_table1_choices())} (default: all)",
    )
    table1.add_argument("--test-size", type=float, default=0.1, help="test share (default: 0.1)")
    table1.add_argument(
        "--split",
        choices=["tweets", "rows"],
        default="tweets",
        help="'tweets' (default): all image-tweet pairs of one tweet_id on one side of the test "
        "split and of the early-stopping split; 'rows': a stratified split of the pairs, as "
        "the paper's numbers most likely are (a test text may then be seen in training)",
    )
    table1.add_argument("--vectors", default="glove-6b-50d", help="word vectors: name or path")
    table1.add_argument("--out", type=Path, help="folder for report.md and pictures")
    table1.add_argument(
        "--image-size", type=int, default=64, help="side of the resized images (default: 64)"
    )

    train = sub.add_parser(
        "train",
        parents=[common],
        help="train one model on CrisisMMD and save it",
        description="Train one of Table I's models on CrisisMMD rows and save it as a "
        "pickle-free model file with a model card: the training rows per event and, on a "
        "held-out split, the clean and attacked accuracy and macro-F1. An interrupted run "
        "resumes from its last completed epoch.",
    )
    train.add_argument("--data", type=Path, required=True, help="CrisisMMD v2.0 root folder")
    train.add_argument("--model", required=True, choices=_table1_choices())
    train.add_argument("--out", type=Path, required=True, help="model file to write")
    train.add_argument("--events", nargs="+", help="events (default: every annotation file)")
    train.add_argument("--vectors", default="glove-6b-50d", help="word vectors: name or path")
    train.add_argument(
        "--image-size",
        type=int,
        default=64,
        help="side of the resized images (default: 64; 224 for ImageNet's size)",
    )
    train.add_argument(
        "--test-size",
        type=float,
        default=0.1,
        help="share held out to measure the model for its card, clean and under the "
        "strongest attacks (default: 0.1; 0 trains on every row and measures nothing)",
    )
    train.add_argument(
        "--split",
        choices=["tweets", "rows"],
        default="tweets",
        help="hold out whole tweets (default) or image-tweet pairs",
    )
    train.add_argument(
        "--sign-key",
        type=Path,
        metavar="KEY",
        help="sign the model file with this Ed25519 private key (PEM; see 'skmmat keygen')",
    )

    predict = sub.add_parser(
        "predict",
        help="label tweets with a saved model",
        description="Read a TSV with a 'text' and/or 'image' column (or a CrisisMMD annotation "
        "file: tweet_text, image_path) and write labels and class probabilities as TSV.",
    )
    predict.add_argument("--model", type=Path, required=True, help="model file from 'train'")
    predict.add_argument("input", type=Path, help="TSV file of tweets")
    predict.add_argument("--output", "-o", type=Path, help="output TSV (default: stdout)")
    predict.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    predict.add_argument(
        "--verify-key",
        type=Path,
        action="append",
        metavar="PUB",
        help="load the model only if it is signed by this public key (PEM); repeat the "
        "option to trust several keys",
    )

    info = sub.add_parser(
        "info",
        help="print a model file's card and signer",
        description="Check a model file (checksum, and the signature with --verify-key) and "
        "print its model card: the estimator, classes, training data, measured scores and "
        "who signed it.",
    )
    info.add_argument("model", type=Path, help="model file")
    info.add_argument(
        "--verify-key",
        type=Path,
        action="append",
        metavar="PUB",
        help="check the signature against this public key (PEM); repeatable",
    )
    info.add_argument("--json", action="store_true", help="print the card as JSON")

    keygen = sub.add_parser(
        "keygen",
        help="write an Ed25519 key pair for signing model files",
        description="Write NAME.pem (the private key, PKCS#8, mode 0600) and NAME.pub.pem (the "
        "public key) to a folder. Sign with 'skmmat train --sign-key', verify with "
        "'skmmat predict --verify-key'.",
    )
    keygen.add_argument("--out", type=Path, required=True, help="folder for the two files")
    keygen.add_argument(
        "--name", default="skmmat_ed25519", help="file name stem (default: skmmat_ed25519)"
    )
    keygen.add_argument(
        "--encrypt",
        action="store_true",
        help="encrypt the private key with a password from $SKMMAT_KEY_PASSWORD or a prompt",
    )
    return parser


def _version():
    from .. import __version__

    return __version__
