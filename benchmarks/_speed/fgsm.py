"""Figure 1: FGSM time over one loss_gradient pass, and the batch size of that pass."""

from __future__ import annotations

import copy
import statistics

import numpy as np

from skmmat import FGSMPerturber

from .common import EPS, demo_frame, figure, paired_times, timed


def bench_fgsm(cfg, fitted, details):
    """Figure 1: FGSM time over one loss_gradient pass."""
    section = "1. FGSM vs one gradient pass"
    clf = fitted["mmn"]
    X, y = demo_frame(cfg["fgsm_rows"], cfg["image_size"], seed=2)
    runs = paired_times(
        lambda: FGSMPerturber(clf, eps=EPS).fit_transform(X, y),
        lambda: clf.loss_gradient(X, y),
        cfg["fgsm_repeats"],
    )
    n = len(X)
    batch = _batch_probe(clf, X, y, cfg["fgsm_repeats"])
    details["fgsm"] = {
        "rows": n,
        "fgsm_s": runs["a_s"],
        "loss_gradient_s": runs["b_s"],
        "cpu_ratio": runs["cpu_ratio"],
        "breakdown_s": _fgsm_breakdown(X, clf, y),
        "batch_probe": batch,
    }
    return [
        figure(
            "fgsm_over_loss_gradient",
            runs["ratio"],
            "ratio",
            ("<=", 1.3),
            f"{n} rows, MMN on {cfg['image_size']}x{cfg['image_size']} images; median of "
            f"{cfg['fgsm_repeats']} paired runs (CPU-time ratio {runs['cpu_ratio']:.2f})",
            section=section,
        ),
        figure(
            "fgsm_throughput",
            n / statistics.median(runs["a_s"]),
            "rows/s",
            note="FGSMPerturber.fit_transform",
            section=section,
        ),
        figure(
            "loss_gradient_throughput",
            n / statistics.median(runs["b_s"]),
            "rows/s",
            note="MultiModalCNNClassifier.loss_gradient (image + text)",
            section=section,
        ),
        figure(
            "gradient_batch256_over_batch32",
            batch["ratio"],
            "ratio",
            note="loss_gradient of the same fitted MMN over the same rows with "
            "eval_batch_size=256 vs 32 (the default, and the training batch); median of "
            f"{cfg['fgsm_repeats']} paired runs (CPU-time ratio {batch['cpu_ratio']:.2f})",
            section=section,
        ),
    ]


def _batch_probe(clf, X, y, repeats, batches=(256, 32)):
    """Time ``loss_gradient`` with a big and a small ``eval_batch_size``.

    Two copies of the fitted classifier differ in ``eval_batch_size`` only:
    the same module, rows and labels, so the ratio is the cost of the batch
    size of the gradient pass.
    """
    big, small = (copy.deepcopy(clf).set_params(eval_batch_size=size) for size in batches)
    runs = paired_times(lambda: big.loss_gradient(X, y), lambda: small.loss_gradient(X, y), repeats)
    return {
        "batches": list(batches),
        "rows": len(X),
        "big_s": runs["a_s"],
        "small_s": runs["b_s"],
        "ratio": runs["ratio"],
        "cpu_ratio": runs["cpu_ratio"],
    }


def _fgsm_breakdown(X, clf, y):
    """Where FGSM spends time beyond the gradient (diagnosis; private helpers)."""
    try:
        from skmmat._validation import check_array_column
        from skmmat.adversarial._base import as_cells
    except ImportError:
        return {}
    grad = clf.loss_gradient(X, y)["image"]
    out = {}
    out["stack_image_column"], x0 = timed(
        lambda: check_array_column(X, "image", ndim=3, last_dim=3)
    )
    out["sign_step_clip"], x = timed(
        lambda: np.clip(x0 + np.float32(EPS) * np.sign(grad), 0.0, 1.0)
    )

    def rebuild():
        out_frame = X.copy()
        out_frame["image"] = as_cells(x)
        return out_frame

    out["copy_frame_and_cells"], _ = timed(rebuild)
    return out
