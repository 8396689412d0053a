"""Figure 8: certification of a test split over one prediction pass."""

from __future__ import annotations

from skmmat.metrics import certify

from .common import demo_frame, figure, paired_times

SECTION = "8. Certification"


def bench_certify(cfg, fitted, details):
    """Figure 8: ``certify`` (the paper's threat model of both modalities) over ``predict_proba``.

    The MMN of figures 1 and 4, the images' 0.1 ball and each word's box of its 10
    nearest GloVe neighbours; the candidate sets are looked up once beforehand (the
    cost of searching them is figure 3's).
    """
    clf = fitted["mmn"]
    X, y = demo_frame(cfg["fgsm_rows"], cfg["image_size"], seed=2)
    certify(clf, X, y)  # the vocabulary's candidate sets, searched once
    runs = paired_times(
        lambda: certify(clf, X, y), lambda: clf.predict_proba(X), cfg["fgsm_repeats"]
    )
    details["certify"] = {
        "rows": len(X),
        "certify_s": runs["a_s"],
        "predict_proba_s": runs["b_s"],
        "cpu_ratio": runs["cpu_ratio"],
    }
    return [
        figure(
            "certify_over_predict",
            runs["ratio"],
            "ratio",
            ("<=", 2.0),
            f"{len(X)} rows, MMN on {cfg['image_size']}x{cfg['image_size']} images: "
            "skmmat.metrics.certify (images eps 0.1, words within their 10 nearest "
            "neighbours) over predict_proba; median of "
            f"{cfg['fgsm_repeats']} paired runs (CPU-time ratio {runs['cpu_ratio']:.2f})",
            section=SECTION,
        )
    ]
