"""Figure 7: decoding the real California JPEG files, and raw files to labels."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.metrics import balanced_accuracy_score

from skmmat import (
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    load_crisismmd,
    make_crisis_tweets,
)

from .common import figure, mmn, paired_times, skipped_figures, timed

SECTION = "7. Real JPEG files"
EVENT = "california_wildfires"
NAMES = [
    ("image_resizer_over_draft_floor", "x"),
    ("reduced_over_full_decoding_speedup", "x"),
    ("reduced_vs_full_mean_abs_diff", "/255"),
    ("reduced_vs_full_p99_abs_diff", "/255"),
    ("image_resizer_two_threads_throughput", "images/s"),
    ("raw_to_label_throughput_real_files", "tweets/s"),
    ("reduced_minus_full_balanced_accuracy", "points"),
]


def _draft_floor(paths, size):
    """The fastest Pillow can do: decode at the smallest DCT scale, convert, resize."""
    out = []
    for path in paths:
        with Image.open(path) as img:
            img.draft("RGB", (size, size))
            img = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            out.append(np.asarray(img, dtype=np.float32) / np.float32(255.0))
    return out


def _stack(frame):
    return np.stack(list(frame["image"]))


def bench_decoding(cfg, data, details):
    """Figure 7: ImageResizer on the real JPEG files against Pillow's floor and full decoding."""
    rows = None
    if data is not None:
        try:
            rows = load_crisismmd(data, events=EVENT)
        except ValueError:
            rows = None
    if rows is None or not rows["image"].map(lambda p: Path(p).is_file()).all():
        return skipped_figures(NAMES, SECTION, f"the {EVENT} images are not under --data")
    rows = rows.iloc[: cfg["decode_rows"]] if cfg["decode_rows"] else rows
    size = 64
    frame = rows[["image"]]
    jpegs = [p for p in rows["image"] if _is_jpeg(p)]
    reduced = ImageResizer(size=(size, size), n_jobs=1).fit(frame)
    full = ImageResizer(size=(size, size), decode="full", n_jobs=1).fit(frame)
    jpeg_frame = pd.DataFrame({"image": jpegs})
    repeats = cfg["decode_repeats"]
    vs_floor = paired_times(
        lambda: reduced.transform(jpeg_frame), lambda: _draft_floor(jpegs, size), repeats
    )
    vs_full = paired_times(
        lambda: full.transform(jpeg_frame), lambda: reduced.transform(jpeg_frame), repeats
    )
    diff = np.abs(_stack(reduced.transform(frame)) - _stack(full.transform(frame))) * 255
    two = ImageResizer(size=(size, size), n_jobs=2).fit(frame)
    two_s = [timed(lambda: two.transform(frame))[0] for _ in range(repeats)]

    # raw files to labels: an MMN fitted on demo tweets labels the real files and texts
    train = make_crisis_tweets(cfg["fit_rows"], random_state=0)
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(ImageResizer(size=(size, size)), GloveSequencer(), mmn(1)).fit(
        train[["image", "text"]], train["label"]
    )
    cores = os.cpu_count() or 1
    pipe.set_params(multimodalcnnclassifier__n_threads=cores)  # as in figure 5
    raw = rows[["image", "text"]]
    predict_s = [timed(lambda: pipe.predict(raw))[0] for _ in range(repeats)]
    accuracy = _accuracy_probe(rows, cfg)
    details["decoding"] = {
        "files": len(rows),
        "jpeg_files": len(jpegs),
        "vs_floor": vs_floor,
        "vs_full": vs_full,
        "two_threads_s": two_s,
        "predict_s": predict_s,
        "accuracy": accuracy,
    }
    n = len(rows)
    return [
        figure(
            "image_resizer_over_draft_floor",
            vs_floor["ratio"],
            "x",
            target=("<=", 1.3),
            note=f"time of ImageResizer (decode='reduced', one thread) over Pillow's floor "
            f"(draft to 64x64, convert, resize) on {len(jpegs)} real JPEG files",
            section=SECTION,
        ),
        figure(
            "reduced_over_full_decoding_speedup",
            vs_full["ratio"],
            "x",
            note="time of decode='full' over decode='reduced', one thread, same files",
            section=SECTION,
        ),
        figure(
            "reduced_vs_full_mean_abs_diff",
            float(diff.mean()),
            "/255",
            note=f"mean absolute pixel difference, {n} files (PNG files under .jpg names "
            "are decoded in full by both)",
            section=SECTION,
        ),
        figure(
            "reduced_vs_full_p99_abs_diff",
            float(np.quantile(diff, 0.99)),
            "/255",
            note="99th percentile of the same differences",
            section=SECTION,
        ),
        figure(
            "image_resizer_two_threads_throughput",
            n / statistics.median(two_s),
            "images/s",
            note=f"ImageResizer(n_jobs=2) on the {n} files; median of {repeats}",
            section=SECTION,
        ),
        figure(
            "raw_to_label_throughput_real_files",
            n / statistics.median(predict_s),
            "tweets/s",
            target=(">=", 600),
            note=f"the {n} real California files and texts through "
            f"Pipeline(ImageResizer, GloveSequencer, MMN).predict, decoding and the model on "
            f"{cores} threads (one per core); "
            f"median of {repeats}",
            section=SECTION,
        ),
        figure(
            "reduced_minus_full_balanced_accuracy",
            100 * float(np.mean(accuracy["reduced"]) - np.mean(accuracy["full"])),
            "points",
            note=f"test balanced accuracy of Visual-CNN (class_weight='balanced', "
            f"image_standardization) trained on each decoding, mean over "
            f"{len(accuracy['full'])} seeds of a split by tweet (full: "
            + ", ".join(f"{v:.3f}" for v in accuracy["full"])
            + "; reduced: "
            + ", ".join(f"{v:.3f}" for v in accuracy["reduced"])
            + ")",
            section=SECTION,
        ),
    ]


def _accuracy_probe(rows, cfg):
    """Test balanced accuracy of a Visual-CNN trained on each decoding, per seed."""
    from skmmat.datasets import crisismmd_train_test_split

    X, y = rows[["tweet_id", "image"]], rows["label"].to_numpy()
    decoded = {
        decode: ImageResizer(size=(64, 64), decode=decode).fit_transform(X)
        for decode in ("full", "reduced")
    }
    scores = {"full": [], "reduced": []}
    for seed in range(cfg["decode_accuracy_seeds"]):
        for decode, frame in decoded.items():
            X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(frame, y, random_state=seed)
            clf = MultiModalCNNClassifier(
                max_epochs=cfg["decode_accuracy_epochs"],
                modalities=("image",),
                class_weight="balanced",
                image_standardization=True,
                validation_groups="tweet_id",
                random_state=seed,
            ).fit(X_tr, y_tr)
            scores[decode].append(float(balanced_accuracy_score(y_te, clf.predict(X_te))))
    return scores


def _is_jpeg(path):
    with open(path, "rb") as f:
        return f.read(3) == b"\xff\xd8\xff"
