"""Figure 6: peak resident memory of an MMAT fit and of a plain MMN fit.

:func:`worker_memory` fits in a fresh process (``speed.py --worker memory``)
and traces the fit's phases with :class:`PhaseMemory`; :func:`bench_memory`
turns the two workers' results into figures.
"""

from __future__ import annotations

import functools
import gc
import time

import numpy as np
import pandas as pd

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    make_crisis_tweets,
)

from .common import (
    GB,
    crisismmd_texts,
    figure,
    mmn,
    read_status,
    reset_peak_rss,
    ru_maxrss_bytes,
    skipped_figures,
    timed,
)


class PhaseMemory:
    """Peak RSS and time per phase of a fit, from wrapped functions.

    Every call of a wrapped function closes the running segment: the peak RSS
    since the last boundary (``VmHWM``) is charged to the phase on top of
    the stack and the peak is reset. Each phase thus gets the peak of its
    own code, its callees being phases of their own.
    """

    def __init__(self):
        self.stack = []
        self.counts = {}
        self.records = {}
        self.enabled = reset_peak_rss()

    def _close_segment(self):
        if not self.enabled:
            return
        path = "/".join(self.stack) or "(outside)"
        peak = read_status("VmHWM") or 0
        rec = self.records.setdefault(path, {"path": path, "peak": 0, "seconds": 0.0})
        rec["peak"] = max(rec["peak"], peak)
        reset_peak_rss()

    def wrap(self, owner, attr, label):
        fn = getattr(owner, attr, None)
        if fn is None:
            return
        tracker = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            tracker._close_segment()
            n = tracker.counts[label] = tracker.counts.get(label, 0) + 1
            tracker.stack.append(f"{label}#{n}")
            path = "/".join(tracker.stack)
            rec = tracker.records.setdefault(path, {"path": path, "peak": 0, "seconds": 0.0})
            rec["rss_enter"] = read_status("VmRSS")
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                rec["seconds"] += time.perf_counter() - start
                tracker._close_segment()
                rec["rss_exit"] = read_status("VmRSS")
                tracker.stack.pop()

        setattr(owner, attr, wrapper)

    def install(self):
        from skorch.net import NeuralNet

        from skmmat.adversarial import WordSubstitutionPerturber
        from skmmat.adversarial import _wrapper as wrapper_module
        from skmmat.models import _classifier as classifier_module

        self.wrap(AdversarialAugmentationWrapper, "fit", "mmat.fit")
        self.wrap(MultiModalCNNClassifier, "fit", "fit")
        self.wrap(classifier_module, "frame_to_inputs", "stack inputs")
        self.wrap(MultiModalCNNClassifier, "predict", "predict")
        self.wrap(MultiModalCNNClassifier, "loss_gradient", "loss_gradient")
        self.wrap(NeuralNet, "fit_loop", "skorch training")
        self.wrap(wrapper_module, "craft_adversarial", "craft_adversarial")
        self.wrap(FGSMPerturber, "_craft_columns", "FGSM")
        self.wrap(WordSubstitutionPerturber, "_craft_columns", "word substitution")
        self.wrap(WordSubstitutionPerturber, "candidates", "candidates")

        class _Pandas:  # pandas, with the wrapper module's concat traced
            def __getattr__(self, name):
                return getattr(pd, name)

        proxy = _Pandas()
        proxy.concat = pd.concat
        self.wrap(proxy, "concat", "pd.concat")
        if getattr(wrapper_module, "pd", None) is pd:
            wrapper_module.pd = proxy


def worker_memory(p):
    texts, labels, source = crisismmd_texts(p["data"], p["rows"])
    n = len(texts)
    size = p["image_size"]
    # synthetic images: demo images resized like ImageResizer does, one array per row
    base = ImageResizer(size=(size, size)).fit_transform(
        make_crisis_tweets(64, random_state=0)[["image"]]
    )["image"]
    images = np.empty(n, dtype=object)
    images[:] = [base.iloc[i % len(base)].copy() for i in range(n)]
    seq = GloveSequencer().fit_transform(pd.DataFrame({"text": texts}))
    X = pd.DataFrame({"image": images, "text": seq["text"], "tokens": seq["tokens"]})
    del seq, base, images
    est = mmn(p["epochs"])
    if p["kind"] == "mmat":
        est = AdversarialAugmentationWrapper(est, random_state=0)
    tracker = PhaseMemory()
    tracker.install()
    gc.collect()
    rss_before = read_status("VmRSS")
    tracker._close_segment()  # setup's peak goes to "(outside)"
    setup_peak = tracker.records.pop("(outside)", {}).get("peak")
    seconds, _ = timed(lambda: est.fit(X, labels))
    tracker._close_segment()
    tracker.records.pop("(outside)", None)
    fit_peak = max((r["peak"] for r in tracker.records.values()), default=None)
    if not tracker.enabled:
        fit_peak = ru_maxrss_bytes()
    return {
        "kind": p["kind"],
        "source": source,
        "rows": n,
        "image_shape": [size, size, 3],
        "image_tensor_bytes": n * 3 * size * size * 4,
        "text_tensor_bytes": int(n * np.prod(X["text"].iloc[0].shape) * 4),
        "rss_before_fit": rss_before,
        "setup_peak": setup_peak,
        "fit_peak": fit_peak,
        "ru_maxrss": ru_maxrss_bytes(),
        "fit_seconds": seconds,
        "phase_tracking": tracker.enabled,
        "phases": list(tracker.records.values()),
    }


def bench_memory(mmn_res, mmat_res, details):
    """Figure 6 from the two workers' results."""
    section = "6. Peak memory of MMAT fit"
    names = [
        ("image_tensor_gb", "GB"),
        ("mmn_fit_peak_rss_gb", "GB"),
        ("mmat_fit_peak_rss_gb", "GB"),
        ("mmat_over_mmn_peak_rss", "ratio"),
        ("mmn_fit_extra_image_copies", "copies"),
        ("mmat_fit_extra_image_copies", "copies"),
        ("mmat_extra_copies_outside_candidates", "copies"),
    ]
    for res in (mmn_res, mmat_res):
        if "error" in res:
            return skipped_figures(names, section, res["error"])
    details["memory"] = {"mmn": mmn_res, "mmat": mmat_res}
    img = mmat_res["image_tensor_bytes"]

    def extra(res):
        return (res["fit_peak"] - res["rss_before_fit"]) / img

    def top_phase(res):
        if not res["phases"]:
            return "", res["fit_peak"]
        top = max(res["phases"], key=lambda r: r["peak"])
        return f"; peak in `{top['path']}`", top["peak"]

    # the same without the candidate search (neighbour lookup of the words)
    outside = [r["peak"] for r in mmat_res["phases"] if "candidates" not in r["path"]]
    outside_peak = max(outside) if outside else mmat_res["fit_peak"]

    how = (
        "peak RSS during fit (VmHWM) minus RSS before fit"
        if mmat_res["phase_tracking"]
        else "ru_maxrss minus RSS before fit"
    )
    rows = f"{mmat_res['rows']} rows, {mmat_res['image_shape'][0]}x{mmat_res['image_shape'][1]}"
    return [
        figure(
            "image_tensor_gb",
            img / GB,
            "GB",
            note=f"{rows} x 3 float32 ({mmat_res['source']}; synthetic images)",
            section=section,
        ),
        figure(
            "mmn_fit_peak_rss_gb",
            mmn_res["fit_peak"] / GB,
            "GB",
            note=f"whole child process; {mmn_res['rss_before_fit'] / GB:.2f} GB before fit "
            f"(table, torch, data); ru_maxrss {mmn_res['ru_maxrss'] / GB:.2f} GB",
            section=section,
        ),
        figure(
            "mmat_fit_peak_rss_gb",
            mmat_res["fit_peak"] / GB,
            "GB",
            note=f"{mmat_res['rss_before_fit'] / GB:.2f} GB before fit; ru_maxrss "
            f"{mmat_res['ru_maxrss'] / GB:.2f} GB",
            section=section,
        ),
        figure(
            "mmat_over_mmn_peak_rss",
            mmat_res["fit_peak"] / mmn_res["fit_peak"],
            "ratio",
            note="peak RSS of the two child processes",
            section=section,
        ),
        figure(
            "mmn_fit_extra_image_copies",
            extra(mmn_res),
            "copies",
            ("<=", 1.0),
            f"({how}) / image tensor{top_phase(mmn_res)[0]}",
            section=section,
        ),
        figure(
            "mmat_fit_extra_image_copies",
            extra(mmat_res),
            "copies",
            ("<=", 2.0),
            f"({how}) / image tensor; the adversarial half is one copy{top_phase(mmat_res)[0]}",
            section=section,
        ),
        figure(
            "mmat_extra_copies_outside_candidates",
            (outside_peak - mmat_res["rss_before_fit"]) / img,
            "copies",
            ("<=", 2.0),
            "the same, leaving out the phases inside WordSubstitutionPerturber.candidates "
            "(neighbour search of the vocabulary)",
            section=section,
        ),
    ]
