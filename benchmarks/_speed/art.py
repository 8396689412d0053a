"""Figure 4: FGSMPerturber against ART's FastGradientMethod (skipped without ART)."""

from __future__ import annotations

import numpy as np
import torch

from skmmat import FGSMPerturber

from .common import EPS, demo_frame, figure, paired_times, skipped_figures

ART_BATCH = 32  # ART's FGM batch size: the rows skmmat's loss_gradient runs per pass


class _ImageOnly(torch.nn.Module):
    """``module(image=x)`` as ``module(x)``, the call ART makes."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(image=x)


def bench_art(cfg, fitted, details):
    """Figure 4: FGSMPerturber against ART's FastGradientMethod."""
    section = "4. FGSMPerturber vs ART FastGradientMethod"
    names = [
        ("skmmat_fgsm_over_art_fgsm", "ratio"),
        ("art_fgsm_max_abs_diff", "pixel value"),
        ("art_fgsm_differing_pixels", "fraction"),
    ]
    try:
        import art
        from art.attacks.evasion import FastGradientMethod
        from art.estimators.classification import PyTorchClassifier
    except ImportError:
        return skipped_figures(
            names,
            section,
            "adversarial-robustness-toolbox is not installed "
            "(pip install adversarial-robustness-toolbox)",
        )
    import logging

    logging.getLogger("art").setLevel(logging.WARNING)
    clf = fitted["visual"]
    X, y = demo_frame(cfg["art_rows"], cfg["image_size"], seed=4)
    X = X[["image"]]
    h = w = cfg["image_size"]
    x = np.ascontiguousarray(np.stack(X["image"].to_numpy()).transpose(0, 3, 1, 2))
    y_idx = np.searchsorted(clf.classes_, y)
    onehot = np.eye(len(clf.classes_), dtype=np.float32)[y_idx]
    estimator = PyTorchClassifier(
        model=_ImageOnly(clf.net_.module_),
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(3, h, w),
        nb_classes=len(clf.classes_),
        clip_values=(0.0, 1.0),
        device_type="cpu",
    )
    attack = FastGradientMethod(estimator, norm=np.inf, eps=EPS, batch_size=ART_BATCH)
    outputs = {}

    def run_skmmat():
        # at the true labels, as ART's generate(x, y) (transform would attack predictions)
        outputs["skmmat"] = FGSMPerturber(clf, eps=EPS).fit(X).craft(X, y)

    def run_art():
        outputs["art"] = attack.generate(x, y=onehot)

    runs = paired_times(run_skmmat, run_art, cfg["art_repeats"])
    x_skm = np.stack(outputs["skmmat"]["image"].to_numpy()).transpose(0, 3, 1, 2)
    x_art = outputs["art"].astype(np.float32)
    diff = np.abs(x_skm - x_art)
    differ = diff > 0
    pixel_differ = differ.any(axis=1)
    # why they differ: the sign of the gradient each library took
    g_skm = clf.loss_gradient(X, y)["image"].transpose(0, 3, 1, 2)
    g_art = np.concatenate(
        [
            estimator.loss_gradient(x[i : i + ART_BATCH], onehot[i : i + ART_BATCH])
            for i in range(0, len(x), ART_BATCH)
        ]
    )
    s_skm, s_art = np.sign(g_skm), np.sign(g_art)
    details["art"] = {
        "art_version": art.__version__,
        "rows": len(x),
        "art_batch_size": ART_BATCH,
        "skmmat_s": runs["a_s"],
        "art_s": runs["b_s"],
        "cpu_ratio": runs["cpu_ratio"],
        "differing_values": int(differ.sum()),
        "values": int(differ.size),
        "differing_where_skmmat_gradient_zero": int((differ & (s_skm == 0)).sum()),
        "differing_where_art_gradient_zero": int((differ & (s_art == 0)).sum()),
        "differing_with_opposite_signs": int((differ & (s_skm * s_art < 0)).sum()),
        "zero_gradient_values": int((s_skm == 0).sum()),
        "gradient_sign_mismatches": int((s_skm != s_art).sum()),
        "max_abs_gradient_at_sign_mismatch": float(
            np.abs(g_skm[s_skm != s_art]).max() if (s_skm != s_art).any() else 0.0
        ),
    }
    return [
        figure(
            "skmmat_fgsm_over_art_fgsm",
            runs["ratio"],
            "ratio",
            ("<=", 1.0),
            f"{len(x)} rows, Visual-CNN, eps={EPS}, ART batch_size={ART_BATCH}; median of "
            f"{cfg['art_repeats']} paired runs (CPU-time ratio {runs['cpu_ratio']:.2f})",
            section=section,
        ),
        figure(
            "art_fgsm_max_abs_diff",
            float(diff.max()),
            "pixel value",
            note=f"{int(differ.sum())} of {differ.size} values differ",
            section=section,
        ),
        figure(
            "art_fgsm_differing_pixels",
            float(pixel_differ.mean()),
            "fraction",
            note="pixels with any channel differing",
            section=section,
        ),
    ]
