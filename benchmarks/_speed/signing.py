"""Figure 10: what signing and verifying add to save_model and load_model."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sklearn.pipeline import make_pipeline

from skmmat import (
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    load_crisismmd,
    load_model,
    make_crisis_tweets,
)
from skmmat import save_model as save
from skmmat._persistence import generate_key_pair

from .common import figure, paired_times, skipped_figures

SECTION = "10. Signed model files"
EVENT = "california_wildfires"
NAMES = [("signed_save_over_save", "ratio"), ("verified_load_over_load", "ratio")]


def _rows(cfg, data):
    """California's rows with their real images, or demo tweets; and what they are."""
    n = cfg["signing_rows"]
    if data is not None:
        rows = load_crisismmd(data, events=EVENT)
        if rows["image"].map(lambda p: Path(p).is_file()).all():
            rows = rows.iloc[:n] if n else rows
            return rows, f"an MMN trained on {len(rows):,} {EVENT} rows (real images)"
    rows = make_crisis_tweets(n or 1589, random_state=0)
    return rows, f"an MMN trained on {len(rows)} demo tweets (no {EVENT} images under --data)"


def bench_signing(cfg, data, details):
    """Signed save over plain save, and verified load over plain load, side by side."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return skipped_figures(NAMES, SECTION, "cryptography is not installed (skmmat[signing])")
    rows, what = _rows(cfg, data)
    size = cfg["image_size"]
    pipe = make_pipeline(
        ImageResizer(size=(size, size), n_jobs=1),
        GloveSequencer(),
        MultiModalCNNClassifier(max_epochs=cfg["signing_epochs"], random_state=0),
    ).fit(rows[["image", "text"]], rows["label"].to_numpy())
    repeats = cfg["signing_repeats"]
    with tempfile.TemporaryDirectory() as tmp:
        private, public = generate_key_pair(tmp)
        plain, signed = Path(tmp) / "plain.safetensors", Path(tmp) / "signed.safetensors"
        saves = paired_times(
            lambda: save(pipe, signed, signing_key=private), lambda: save(pipe, plain), repeats
        )
        loads = paired_times(
            lambda: load_model(signed, verify_key=public), lambda: load_model(plain), repeats
        )
        mb = signed.stat().st_size / 1e6
    details["signing"] = {"rows": len(rows), "file_mb": mb, "save": saves, "load": loads}
    note = f"{what}, {size}x{size}, a {mb:.1f} MB file; keys read from PEM files on each call"
    return [
        figure(
            "signed_save_over_save",
            saves["ratio"],
            "ratio",
            ("<=", 1.1),
            f"save_model with signing_key over save_model: {note}",
            section=SECTION,
        ),
        figure(
            "verified_load_over_load",
            loads["ratio"],
            "ratio",
            ("<=", 1.1),
            f"load_model of the signed file with verify_key over load_model of the unsigned "
            f"one: {note}",
            section=SECTION,
        ),
    ]
