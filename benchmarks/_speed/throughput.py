"""Figure 5: throughput of raw rows to labels through a fitted pipeline."""

from __future__ import annotations

import os
import statistics

from skmmat import GloveSequencer, ImageResizer, make_crisis_tweets

from .common import figure, mmn, timed


def bench_throughput(cfg, details):
    """Figure 5: raw rows to labels through the fitted pipeline."""
    section = "5. Raw rows to labels"
    from sklearn.pipeline import make_pipeline

    size = cfg["image_size"]
    train = make_crisis_tweets(cfg["fit_rows"], random_state=0)
    pipe = make_pipeline(
        ImageResizer(size=(size, size)), GloveSequencer(), mmn(cfg["fit_epochs"])
    ).fit(train[["image", "text"]], train["label"])
    # a rate of the whole machine: the model on every core, as torch's own default gives a
    # user (the benchmark's one thread elsewhere keeps its ratios robust to other jobs)
    cores = os.cpu_count() or 1
    pipe.set_params(multimodalcnnclassifier__n_threads=cores)
    raw = make_crisis_tweets(cfg["throughput_rows"], random_state=5)[["image", "text"]]
    times = [timed(lambda: pipe.predict(raw))[0] for _ in range(cfg["throughput_repeats"])]
    # share of each stage (one more run, step by step)
    stages = {}
    Xt = raw
    for name, step in pipe.steps[:-1]:
        stages[name], Xt = timed(lambda step=step, Xt=Xt: step.transform(Xt))
    stages[pipe.steps[-1][0]], _ = timed(lambda: pipe.steps[-1][1].predict(Xt))
    n = len(raw)
    details["throughput"] = {"rows": n, "predict_s": times, "stage_s": stages, "threads": cores}
    return [
        figure(
            "raw_to_label_throughput",
            n / statistics.median(times),
            "tweets/s",
            (">=", 1000),
            f"{n} demo rows (uint8 images of 72-96 px + text) through "
            f"Pipeline(ImageResizer({size}x{size}), GloveSequencer, MMN).predict, the model "
            f"on {cores} torch threads (one per core); median of {len(times)}",
            section=section,
        )
    ]
