"""Figure 9: the pretrained image encoder (EfficientNet-Lite0): throughput and fit cost."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import make_pipeline

from skmmat import GloveSequencer, ImageResizer, MultiModalCNNClassifier, load_crisismmd
from skmmat.models import EfficientNetLite0

from .common import demo_frame, figure, mmn, paired_times, skipped_figures, timed

SECTION = "9. Pretrained image encoder"
ENCODER = "efficientnet_lite0"
EVENT = "california_wildfires"


def _bare_forward(module, images, batch_size):
    """The floor: the same network on a stacked, standardised tensor, in inference mode."""
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            module(images[start : start + batch_size])


def _throughput(cfg, size, details):
    """skmmat's pretrained Visual-CNN labelling preprocessed images, over the bare forward."""
    X, y = demo_frame(cfg["encoder_rows"], size, seed=3)
    clf = mmn(1, modalities=("image",), image_encoder=ENCODER).fit(X[["image"]], y)
    branch = clf.net_.module_.visual
    bare = EfficientNetLite0().eval()
    bare.load_state_dict(branch.encoder.state_dict())
    stacked = torch.as_tensor(np.stack(list(X["image"]))).permute(0, 3, 1, 2)
    standardised = ((stacked - branch.image_mean) / branch.image_std).contiguous(
        memory_format=torch.channels_last
    )
    batch = clf.eval_batch_size if isinstance(clf.eval_batch_size, int) else 32
    runs = paired_times(
        lambda: clf.predict_proba(X[["image"]]),
        lambda: _bare_forward(bare, standardised, batch),
        cfg["encoder_repeats"],
    )
    rate = len(X) / statistics.median(runs["a_s"])
    details[f"encoder_{size}"] = {"rows": len(X), **runs}
    return [
        figure(
            f"encoder_over_bare_forward_{size}px",
            runs["ratio"],
            "ratio",
            ("<=", 1.2),
            f"{len(X)} images at {size}x{size}: predict_proba of Visual-CNN over "
            "EfficientNet-Lite0 (rows of a frame to probabilities) over the bare forward "
            f"pass of the same network on a stacked, standardised tensor; {rate:.0f} images/s",
            section=SECTION,
        ),
        figure(
            f"encoder_throughput_{size}px",
            rate,
            "images/s",
            note=f"predict_proba of the pretrained Visual-CNN, {size}x{size}",
            section=SECTION,
        ),
    ]


def _fit_cost(cfg, size, details):
    """A frozen-encoder MMN fit, the feature pass included, over a from-scratch MMN fit."""
    X, y = demo_frame(cfg["fit_rows"], size, seed=1)
    epochs = cfg["encoder_fit_epochs"]
    runs = paired_times(
        lambda: mmn(epochs, image_encoder=ENCODER).fit(X, y),
        lambda: mmn(epochs).fit(X, y),
        cfg["encoder_fit_repeats"],
    )
    details[f"encoder_fit_{size}"] = {"rows": len(X), "epochs": epochs, **runs}
    return figure(
        f"frozen_encoder_mmn_fit_over_mmn_fit_{size}px",
        runs["ratio"],
        "ratio",
        note=f"{len(X)} rows at {size}x{size}, {epochs} epochs, patience=None: MMN with the "
        "frozen EfficientNet-Lite0 (its feature pass included) over the from-scratch MMN",
        section=SECTION,
    )


def _raw_to_labels(cfg, data, size, details):
    """Raw California JPEG files and texts to labels through a fitted pipeline."""
    rows = None
    if data is not None:
        rows = load_crisismmd(data, events=EVENT)
    if rows is None or not rows["image"].map(lambda p: Path(p).is_file()).all():
        return skipped_figures(
            [(f"raw_jpeg_to_label_pretrained_{size}px", "tweets/s")],
            SECTION,
            f"the {EVENT} images are not under --data",
        )
    rows = rows.iloc[: cfg["encoder_rows"]]
    X, y = rows[["image", "text"]], rows["label"].to_numpy()
    with tempfile.TemporaryDirectory() as cache:
        pipe = make_pipeline(
            ImageResizer(size=(size, size), n_jobs=1),
            GloveSequencer(),
            MultiModalCNNClassifier(
                image_encoder=ENCODER,
                max_epochs=1,
                patience=None,
                random_state=0,
                feature_cache=cache,
            ),
        ).fit(X, y)
        seconds = [timed(lambda: pipe.predict(X))[0] for _ in range(cfg["encoder_repeats"])]
    rate = len(X) / statistics.median(seconds)
    details[f"raw_pretrained_{size}"] = {"rows": len(X), "seconds": seconds}
    return [
        figure(
            f"raw_jpeg_to_label_pretrained_{size}px",
            rate,
            "tweets/s",
            note=f"{len(X)} real {EVENT} JPEG files and texts to labels: ImageResizer to "
            f"{size}x{size}, GloveSequencer, MMN over the frozen EfficientNet-Lite0",
            section=SECTION,
        )
    ]


def bench_pretrained(cfg, data, details):
    """Figure 9 at each of ``cfg["encoder_sizes"]``."""
    figures = []
    for size in cfg["encoder_sizes"]:
        figures += _throughput(cfg, size, details)
        figures += _raw_to_labels(cfg, data, size, details)
    figures.append(_fit_cost(cfg, cfg["image_size"], details))
    return figures
