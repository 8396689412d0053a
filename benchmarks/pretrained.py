"""The pretrained image encoder on California wildfires' real images, clean scores.

Per label (the paper's ``informative`` label, the image annotation's label and the
humanitarian task), input size and seed: a 10 % test split by tweet, then

* the majority class and TF-IDF + logistic regression (text only);
* the linear probe: EfficientNet-Lite0's frozen, pooled ImageNet features and
  standardised logistic regression (images only);
* Visual-CNN and MMN with ``image_encoder="efficientnet_lite0"``, frozen
  (``fine_tune="none"``) and with the last two blocks trained (``fine_tune=2``),
  with the paper's settings and with ``class_weight="balanced"``;
* with ``--models visual_cnn_grid mmn_grid``, the frozen-encoder Visual-CNN and
  MMN with their head's ``lr`` and ``dropout`` chosen by a grid search (3-fold
  cross-validation of whole tweets inside the training split, accuracy).

Accuracy and macro-F1 on the test split, mean and standard deviation over the
seeds, and how many seeds predicted one class. The encoder's output is cached
per image under ``--cache`` (the classifier's ``feature_cache``), so each image
goes through the frozen encoder once per size::

    python benchmarks/pretrained.py --data <CrisisMMD v2.0 root> --seeds 5 \\
        --sizes 224 128 --json benchmarks/results/pretrained_california.json \\
        --markdown benchmarks/results/pretrained_california.md
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from table1 import tfidf_baseline  # noqa: E402

from skmmat import GloveSequencer, ImageResizer, MultiModalCNNClassifier, load_crisismmd  # noqa: E402
from skmmat.datasets import crisismmd_train_test_split  # noqa: E402
from skmmat.metrics import prediction_scores  # noqa: E402
from skmmat.models._encoder import EncoderBranch  # noqa: E402
from skmmat.models._features import frozen_image_features  # noqa: E402
from skmmat.models._inputs import frame_to_inputs  # noqa: E402

EVENT = "california_wildfires"
#: label name -> (task, label_source)
LABELS = {
    "informative": ("informative", "either"),
    "image_label": ("informative", "image"),
    "humanitarian": ("humanitarian", "either"),
}
#: model name -> (modalities, fine_tune, class_weight)
NETWORKS = {
    "visual_cnn": (("image",), "none", None),
    "visual_cnn_balanced": (("image",), "none", "balanced"),
    "visual_cnn_ft2": (("image",), 2, None),
    "mmn": (("image", "text"), "none", None),
    "mmn_balanced": (("image", "text"), "none", "balanced"),
    "mmn_ft2": (("image", "text"), 2, None),
}
BASELINES = ("majority", "tfidf_logreg", "linear_probe")
#: the grid-searched heads: model name -> the network searched
GRIDS = {"visual_cnn_grid": "visual_cnn", "mmn_grid": "mmn"}
#: the head's grid, searched by 3-fold cross-validation of whole tweets in the training split
HEAD_GRID = {"lr": [1e-3, 3e-3], "dropout": [0.2, 0.5]}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="CrisisMMD v2.0 root")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224])
    parser.add_argument("--labels", nargs="+", choices=list(LABELS), default=list(LABELS))
    parser.add_argument(
        "--models",
        nargs="+",
        choices=[*BASELINES, *NETWORKS, *GRIDS],
        default=[*BASELINES, *NETWORKS],
    )
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--rows", type=int, help="the first N rows only (smoke runs)")
    parser.add_argument("--cache", type=Path, help="feature cache folder (default: a temp dir)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    return parser.parse_args(argv)


def linear_probe(branch, images_tr, y_tr, images_te, cache):
    """Standardised logistic regression on the frozen encoder's pooled features.

    Its regularisation is chosen by 5-fold cross-validation inside the training split.
    """
    kwargs = {"device": "cpu", "n_threads": None, "batch_size": 32, "cache_dir": cache}
    f_tr = frozen_image_features(branch, images_tr, **kwargs)
    f_te = frozen_image_features(branch, images_te, **kwargs)
    model = make_pipeline(
        StandardScaler(), LogisticRegressionCV(Cs=[0.001, 0.01, 0.1, 1.0], max_iter=3000)
    )
    return model.fit(f_tr, y_tr).predict(f_te)


def run(args):
    cache = str(args.cache or Path(tempfile.mkdtemp(prefix="skmmat-features-")))
    records = []
    for size in args.sizes:
        frames = {}
        for label in args.labels:
            task, source = LABELS[label]
            df = load_crisismmd(args.data, events=[EVENT], task=task, label_source=source)
            frames[label] = df if args.rows is None else df.iloc[: args.rows]
        first = frames[args.labels[0]]
        start = time.perf_counter()
        images = ImageResizer(size=(size, size)).fit_transform(first[["image"]])["image"]
        print(f"{size} px: {len(images)} images resized in {time.perf_counter() - start:.0f} s")
        text = GloveSequencer().fit_transform(first[["text"]])["text"]
        branch = EncoderBranch("efficientnet_lite0", (size, size)).eval()
        for label, df in frames.items():
            X = df[["tweet_id", "text"]].assign(image=images.to_numpy(), vectors=text.to_numpy())
            y = df["label"].to_numpy()
            for seed in range(args.seeds):
                X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(
                    X, y, test_size=0.1, split="tweets", random_state=seed
                )
                base = {"label": label, "size": size, "seed": seed, "n_test": len(y_te)}
                for name in args.models:
                    start = time.perf_counter()
                    scores = score(name, X_tr, y_tr, X_te, y_te, branch, cache, seed, args)
                    records.append(
                        {
                            **base,
                            "model": name,
                            "accuracy": scores["accuracy"],
                            "macro_f1": scores["macro_f1"],
                            "one_class": bool(scores["one_class"]),
                            "seconds": time.perf_counter() - start,
                        }
                    )
                    r = records[-1]
                    print(
                        f"{label:13s} {size:3d}px seed {seed} {name:20s} "
                        f"acc {100 * r['accuracy']:5.1f} F1 {100 * r['macro_f1']:5.1f} "
                        f"{'ONE CLASS ' if r['one_class'] else ''}({r['seconds']:.0f} s)",
                        flush=True,
                    )
                if args.json:
                    write_json(args.json, records, args)
    return records


def score(name, X_tr, y_tr, X_te, y_te, branch, cache, seed, args):
    """Test scores of one model trained on one split."""
    if name == "tfidf_logreg":
        return tfidf_baseline(X_tr, y_tr, X_te, y_te)[0]
    return prediction_scores(y_te, predict(name, X_tr, y_tr, X_te, branch, cache, seed, args))


def predict(name, X_tr, y_tr, X_te, branch, cache, seed, args):
    if name == "majority":
        return DummyClassifier().fit(X_tr, y_tr).predict(X_te)
    if name == "linear_probe":
        tr = frame_to_inputs(X_tr, ("image",), text_window=1, min_side=(1, ""), caller="probe")
        te = frame_to_inputs(X_te, ("image",), text_window=1, min_side=(1, ""), caller="probe")
        return linear_probe(branch, tr[0]["image"], y_tr, te[0]["image"], cache)
    modalities, fine_tune, class_weight = NETWORKS[GRIDS.get(name, name)]
    clf = MultiModalCNNClassifier(
        modalities=modalities,
        image_encoder="efficientnet_lite0",
        fine_tune=fine_tune,
        class_weight=class_weight,
        feature_cache=cache,
        validation_groups="tweet_id",
        max_epochs=args.epochs,
        random_state=seed,
    )
    columns = ["tweet_id", "image", "vectors"]
    if name in GRIDS:
        cv = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed)
        folds = list(cv.split(X_tr, y_tr, groups=X_tr["tweet_id"]))
        clf = GridSearchCV(clf, HEAD_GRID, cv=folds)
    clf.fit(X_tr[columns].rename(columns={"vectors": "text"}), y_tr)
    return clf.predict(X_te[columns].rename(columns={"vectors": "text"}))


def summarise(records):
    table = {}
    for r in records:
        key = (r["label"], r["size"], r["model"])
        table.setdefault(key, []).append(r)
    rows = []
    for (label, size, model), rs in table.items():
        acc = np.array([r["accuracy"] for r in rs]) * 100
        f1 = np.array([r["macro_f1"] for r in rs]) * 100
        rows.append(
            {
                "label": label,
                "size": size,
                "model": model,
                "seeds": len(rs),
                "accuracy": f"{acc.mean():.1f} ± {acc.std():.1f}",
                "macro_f1": f"{f1.mean():.1f} ± {f1.std():.1f}",
                "one_class": sum(r["one_class"] for r in rs),
                "seconds": f"{np.mean([r['seconds'] for r in rs]):.0f}",
            }
        )
    return rows


def markdown(rows, meta):
    lines = [
        "# The pretrained image encoder on California wildfires' real images",
        "",
        f"`{meta['command']}`",
        "",
        f"{meta['machine']}; {meta['seeds']} seeds, 10 % test split by tweet; accuracy and "
        "macro-F1 in %, mean ± std over seeds; one class: seeds that predicted one class "
        "for every test tweet; seconds: mean time of one fit and prediction.",
        "",
    ]
    for label in dict.fromkeys(r["label"] for r in rows):
        task, source = LABELS[label]
        lines += [f"## {label} (task={task!r}, label_source={source!r})", ""]
        lines += ["| size | model | accuracy | macro-F1 | one class | seconds |"]
        lines += ["|---|---|---|---|---|---|"]
        for r in rows:
            if r["label"] == label:
                lines.append(
                    f"| {r['size']} | {r['model']} | {r['accuracy']} | {r['macro_f1']} | "
                    f"{r['one_class']}/{r['seeds']} | {r['seconds']} |"
                )
        lines.append("")
    return "\n".join(lines)


def _meta(args):
    return {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "seeds": args.seeds,
    }


def write_json(path, records, args):
    path.write_text(json.dumps({"meta": _meta(args), "records": records}, indent=1))


def main(argv=None):
    args = parse_args(argv)
    records = run(args)
    rows = summarise(records)
    text = markdown(rows, _meta(args))
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        write_json(args.json, records, args)


if __name__ == "__main__":
    main()
