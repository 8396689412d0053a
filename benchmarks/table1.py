"""Reproduce the paper's Table I on CrisisMMD (and the demo data).

Examples
--------
The text columns on the four paper events, 5 seeds, Algorithm 1 (one round)::

    python benchmarks/table1.py --data <CrisisMMD v2.0 root> --seeds 5 \\
        --json benchmarks/results/table1.json --markdown benchmarks/results/table1.md

One and three rounds of adversarial training side by side, with a grid
search and the TF-IDF baseline, on 8 processes::

    python benchmarks/table1.py --data <CrisisMMD v2.0 root> --seeds 5 --rounds 1 3 \\
        --grid --baseline --jobs 8 --json benchmarks/results/table1.json

One table from the records of several runs (say, one per event)::

    python benchmarks/table1.py --from-json a.json b.json --markdown table1.md

Protocol per event and seed: a stratified test split of ``--test-size`` of the
event's rows (``random_state = seed``), the rest for training (early stopping
holds its validation fraction out of the training rows only). ``--split rows``
splits the image-tweet pairs, as the paper's numbers most likely were made: a
tweet with several images then has its text on both sides. ``--split tweets``
keeps every pair of one ``tweet_id`` on one side, in the test split, in early
stopping's validation split and in the grid search's folds. ``--grid`` searches
inside each seed's training split only, so no test row chooses a
hyper-parameter. Each table has a majority-class column, macro-F1 beside every
accuracy and a count of the seeds on which a model predicted one class for
every test tweet. The paper's
hyper-parameters by default (64 hidden units, window 2, dropout 0.5, batch 32,
Adam, early stopping, eps 0.1, threshold 0.5) and its labels
(``label_source="either"``). Every model is built from skmmat's public API
(:func:`skmmat.experiments.make_table1_model`).

Reported per model: ``clean_accuracy``; ``adversarial_accuracy`` (white-box:
crafted against the evaluated model itself with the training attack);
``transfer_accuracy`` (crafted against the plain counterpart, the paper's
likely protocol for its ``_adv`` and MMAT columns); ``pgd_accuracy`` (10-step
iterative image attack plus Eq. 2 on text; image models only); with
``--strongest``, ``strongest_accuracy`` (the per-tweet worst case of the
threat model's strongest attacks, :func:`skmmat.experiments.strongest_attacks`:
PGD-10 from 5 random starts, Eq. 2, three Eq. 2 steps, the greedy search
within 3 words and the joint attack, as the model's modalities allow). Each
accuracy has its macro-F1 beside it.

``--method in_loop`` trains the ``_adv`` columns and MMAT in the loop
(every batch attacked against the current weights) instead of by
Algorithm 1; the in-loop models under the strongest attacks::

    python benchmarks/table1.py --data <CrisisMMD v2.0 root> --seeds 5 --split tweets \
        --models text_cnn text_cnn_adv --method in_loop --strongest
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import make_pipeline

from skmmat import load_crisismmd, make_crisis_tweets
from skmmat.cli import add_training_arguments, training_options
from skmmat.datasets import crisismmd_train_test_split
from skmmat.experiments import (
    PAPER_TABLE1,
    PLAIN_COUNTERPART,
    TABLE1_MODELS,
    make_table1_model,
    run_table1,
)
from skmmat.metrics import make_adversarial_scorer, prediction_scores
from skmmat.preprocessing import tokenize_tweet

EVENT_NAMES = {
    "california_wildfires": "California wildfires",
    "hurricane_harvey": "Hurricane Harvey",
    "mexico_earthquake": "Mexico earthquake",
    "srilanka_floods": "Sri Lanka floods",
}
TEXT_MODELS = [m for m, spec in TABLE1_MODELS.items() if spec[0] == ("text",)]
#: the columns beside the six models, scored on clean tweets only
BASELINES = {"majority": "majority class", "tfidf_logreg": "TF-IDF + LR"}
GRID = {
    "multimodalcnnclassifier__text_filters": [64, 128],
    "multimodalcnnclassifier__lr": [1e-3, 3e-3],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="CrisisMMD v2.0 root")
    parser.add_argument("--events", nargs="+", default=list(PAPER_TABLE1))
    parser.add_argument(
        "--models", nargs="+", choices=list(TABLE1_MODELS), default=list(TABLE1_MODELS)
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--test-size", type=float, default=0.1)
    parser.add_argument(
        "--split",
        choices=["rows", "tweets"],
        default="rows",
        help="'rows' (default): a stratified split of the image-tweet pairs, as the paper's "
        "numbers most likely are; 'tweets': all pairs of one tweet_id on one side (and in one "
        "early-stopping and grid-search fold), so no test text is seen in training",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        nargs="+",
        default=[1],
        help="n_rounds of the _adv models and MMAT (1 = Algorithm 1); several values "
        "train the adversarial models once per value, beside one plain model",
    )
    parser.add_argument(
        "--warm-start",
        choices=["multi", "always", "never"],
        default="multi",
        help="the wrapper's warm_start: 'multi' (default) continues training across rounds "
        "when n_rounds > 1 and refits from scratch for Algorithm 1's single round",
    )
    parser.add_argument(
        "--method",
        choices=["algorithm1", "in_loop"],
        default="algorithm1",
        help="how the _adv models and MMAT are trained: the paper's Algorithm 1 (default) "
        "or in-loop adversarial training (every batch attacked against the current weights)",
    )
    parser.add_argument(
        "--strongest",
        action="store_true",
        help="also score every model under the per-tweet worst case of the threat model's "
        "strongest attacks (skmmat.experiments.strongest_attacks)",
    )
    parser.add_argument("--epochs", type=int, default=50, help="max_epochs (default 50)")
    add_training_arguments(parser)
    parser.add_argument(
        "--vectors", default="glove-6b-50d", help="word vectors: bundled name or a GloVe text file"
    )
    parser.add_argument(
        "--grid",
        action="store_true",
        help="grid-search Text-CNN hyper-parameters inside each seed's training split",
    )
    parser.add_argument(
        "--select",
        choices=["accuracy", "adversarial"],
        default="accuracy",
        help="the grid's criterion: mean CV accuracy on clean rows (default) or on "
        "adversarial examples crafted against each fold's model",
    )
    parser.add_argument(
        "--baseline", action="store_true", help="also report TF-IDF + logistic regression"
    )
    parser.add_argument(
        "--demo",
        type=int,
        default=0,
        metavar="N",
        help="also run the image and multimodal columns on N demo tweets",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes: the grid search's, and one (event, seed) split per process, "
        "each with one torch thread (default 1)",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="run nothing: summarise the records of earlier --json files",
    )
    parser.add_argument("--json", type=Path, help="write the records as JSON (after each split)")
    parser.add_argument("--markdown", type=Path, help="write the Table-I-shaped summary")
    parser.add_argument(
        "--plot", type=Path, help="write a figure of the summary (PNG, SVG, ...; matplotlib)"
    )
    args = parser.parse_args(argv)
    if args.from_json is None and args.data is None:
        parser.error("--data is required (or --from-json to summarise earlier runs)")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if min(args.rounds) < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    args.rounds = sorted(set(args.rounds))
    if args.method == "in_loop" and (args.rounds != [1] or args.warm_start == "always"):
        parser.error("--method in_loop trains once: it takes no --rounds and no --warm-start")
    return args


def tfidf_baseline(X_tr, y_tr, X_te, y_te):
    model = make_pipeline(
        TfidfVectorizer(
            tokenizer=tokenize_tweet,
            preprocessor=None,
            lowercase=False,
            token_pattern=None,
            ngram_range=(1, 2),
            min_df=1,
            sublinear_tf=True,
        ),
        LogisticRegression(C=10.0, max_iter=2000),
    )
    start = time.perf_counter()
    model.fit(X_tr["text"], y_tr)
    seconds = time.perf_counter() - start
    return prediction_scores(y_te, model.predict(X_te["text"])), seconds


def grid_search(X_tr, y_tr, args, groups=None, seed=0):
    """Grid-search Text-CNN on one training split, scoring clean and adversarial accuracy.

    With ``groups`` (the tweet ids of ``--split tweets``) the folds keep each tweet
    on one side.
    """
    model = make_table1_model(
        "text_cnn",
        vectors=args.vectors,
        max_epochs=args.epochs,
        random_state=0,
        n_threads=1 if args.jobs > 1 else None,
        **training_options(args),
    )
    cv = (
        StratifiedGroupKFold(3, shuffle=True, random_state=seed)
        if groups is not None
        else StratifiedKFold(3, shuffle=True, random_state=seed)
    )
    search = GridSearchCV(
        model,
        GRID,
        cv=cv,
        refit=False,
        scoring={"accuracy": "accuracy", "adversarial": make_adversarial_scorer()},
        n_jobs=args.jobs,
    )
    search.fit(X_tr, y_tr, groups=groups)
    res = search.cv_results_
    clean, adversarial = res["mean_test_accuracy"], res["mean_test_adversarial"]
    # the best by the chosen score; ties broken by the other
    if args.select == "accuracy":
        order = np.lexsort((-adversarial, -clean))
    else:
        order = np.lexsort((-clean, -adversarial))
    best = res["params"][order[0]]
    return (
        {k.split("__", 1)[1]: v for k, v in best.items()},
        {
            "params": [{k.split("__", 1)[1]: v for k, v in p.items()} for p in res["params"]],
            "accuracy": clean.tolist(),
            "adversarial": adversarial.tolist(),
            "select": args.select,
        },
    )


def run_split(X_tr, y_tr, X_te, y_te, models, params, args, *, dataset="crisismmd"):
    """Records of every model on one split, adversarial ones once per ``--rounds`` value."""
    records, plain = [], {}
    for i, n_rounds in enumerate(args.rounds):
        # the plain models are trained and recorded once; later values reuse them
        # as the transfer attack's source
        wanted = models if i == 0 else [m for m in models if TABLE1_MODELS[m][1]]
        if not wanted:
            break
        warm = args.warm_start == "always" or (args.warm_start == "multi" and n_rounds > 1)
        results = run_table1(
            X_tr,
            y_tr,
            X_te,
            y_te,
            models=wanted,
            pgd=any("image" in TABLE1_MODELS[m][0] for m in wanted),
            strongest=args.strongest,
            method=args.method,
            vectors=args.vectors,
            n_rounds=n_rounds,
            warm_start=warm,
            fitted_plain=plain,
            max_epochs=args.epochs,
            **params,
        )
        plain.update(
            (name, result.estimator)
            for name, result in results.items()
            if not TABLE1_MODELS[name][1]
        )
        for name, result in results.items():
            adversarial = TABLE1_MODELS[name][1]
            records.append(
                {
                    "dataset": dataset,
                    "n_rounds": n_rounds if adversarial else None,
                    "warm_start": warm if adversarial else None,
                    "method": args.method if adversarial else None,
                    **result.record(),
                }
            )
    return records


def baseline_record(model, scores, seconds):
    """The record of a column scored on clean tweets only (a baseline)."""
    return {
        "dataset": "crisismmd",
        "n_rounds": None,
        "warm_start": None,
        "model": model,
        "clean_accuracy": scores["accuracy"],
        "clean_macro_f1": scores["macro_f1"],
        "clean_balanced_accuracy": scores["balanced_accuracy"],
        "one_class": scores["one_class"],
        "fit_seconds": seconds,
    }


def majority_record(y_tr, y_te):
    """The majority class of the training rows, predicted for every test tweet."""
    values, counts = np.unique(y_tr, return_counts=True)
    majority = np.full(len(y_te), values[np.argmax(counts)])
    return baseline_record("majority", prediction_scores(y_te, majority), 0.0)


def run_event_seed(event, seed, X, y, models, args):
    """Records of one (event, seed) split: the grid search (inside its training rows),
    every model, the majority class and the baseline."""
    X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(
        X, y, test_size=args.test_size, split=args.split, random_state=seed
    )
    shared = set(X_tr["tweet_id"]) & set(X_te["tweet_id"])
    base = {
        "event": event,
        "seed": seed,
        "split": args.split,
        "n_train": len(X_tr),
        "n_test": len(X_te),
        "test_rows_sharing_a_tweet_with_training": int(X_te["tweet_id"].isin(shared).sum()),
    }
    params, grid = {}, None
    if args.grid and models:
        start = time.perf_counter()
        groups = X_tr["tweet_id"].to_numpy() if args.split == "tweets" else None
        params, grid = grid_search(X_tr, y_tr, args, groups=groups, seed=seed)
        grid.update(chosen=params, seconds=time.perf_counter() - start)
    if args.split == "tweets":
        params = {**params, "validation_groups": "tweet_id"}
    params = {**params, **training_options(args)}
    records = [{**base, **majority_record(y_tr, y_te)}]
    if models:
        for rec in run_split(
            X_tr, y_tr, X_te, y_te, models, {"random_state": seed, **params}, args
        ):
            records.append({**base, **rec, "params": params, "grid": grid})
    if args.baseline:
        scores, seconds = tfidf_baseline(X_tr, y_tr, X_te, y_te)
        records.append({**base, **baseline_record("tfidf_logreg", scores, seconds)})
    return records


def run_demo_seed(seed, models, args):
    """Records of the image and multimodal columns on one split of the demo data."""
    demo = make_crisis_tweets(args.demo, random_state=0)
    X, y = demo[["image", "text"]], demo["label"].to_numpy()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    base = {"event": "demo", "seed": seed, "n_train": len(X_tr), "n_test": len(X_te)}
    return [
        {**base, **rec}
        for rec in run_split(
            X_tr,
            y_tr,
            X_te,
            y_te,
            models,
            {"random_state": seed, **training_options(args)},
            args,
            dataset="demo",
        )
    ]


def _one_thread():
    # each worker process trains on one core; torch's default would oversubscribe
    torch.set_num_threads(1)


def _progress_line(label, records):
    return f"{label}: " + ", ".join(
        f"{column_label(r)} {100 * r['clean_accuracy']:.1f}"
        + (f"/{100 * r['adversarial_accuracy']:.1f}" if "adversarial_accuracy" in r else "")
        for r in records
    )


def column_key(record):
    """(model, n_rounds, warm_start, method) of a record: a column of the table."""
    method = record.get("method")
    if method is None and TABLE1_MODELS.get(record["model"], (None, False))[1]:
        method = "algorithm1"  # records from before --method
    return (record["model"], record.get("n_rounds"), record.get("warm_start"), method)


def column_label(record_or_key):
    model, n_rounds, warm, method = (
        column_key(record_or_key) if isinstance(record_or_key, dict) else record_or_key
    )
    label = TABLE1_MODELS[model][2] if model in TABLE1_MODELS else BASELINES.get(model, model)
    if n_rounds is None:
        return label
    if method == "in_loop":
        return f"{label} (in-loop)"
    how = ", warm" if warm else ", from scratch" if n_rounds > 1 else ""
    return f"{label} ({n_rounds} round{'s' * (n_rounds > 1)}{how})"


def _sort_key(record):
    order = [*TABLE1_MODELS, *BASELINES]
    return (
        record["dataset"],
        record["event"],
        record["seed"],
        order.index(record["model"]),
        record.get("n_rounds") or 0,
        bool(record.get("warm_start")),
    )


def run_tasks(tasks, args, write):
    """Run ``(label, function, arguments)`` tasks, on ``args.jobs`` processes.

    ``write(records)`` is called with all the records so far after each task,
    so an interrupted run keeps what finished.
    """
    records = []

    def done(label, new):
        nonlocal records
        records = sorted(records + new, key=_sort_key)
        print(_progress_line(label, new), flush=True)
        write(records)

    if args.jobs == 1:
        for label, function, arguments in tasks:
            done(label, function(*arguments, args))
        return records
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    with concurrent.futures.ProcessPoolExecutor(
        min(args.jobs, len(tasks)) or 1, mp_context=context, initializer=_one_thread
    ) as pool:
        futures = {
            pool.submit(function, *arguments, args): label for label, function, arguments in tasks
        }
        for future in concurrent.futures.as_completed(futures):
            done(futures[future], future.result())
    return records


def column_values(records, dataset, event, column, field):
    """Percentages of ``field`` over the seeds of one event and column.

    Empty where the field means nothing for the column: the baseline is only
    scored on clean tweets, and "from plain" exists for adversarially trained
    models only.
    """
    model = column[0]
    if not field.startswith("clean_") and model in BASELINES:
        return []
    if field.startswith("transfer_") and model not in PLAIN_COUNTERPART:
        return []
    return [
        100 * r[field]
        for r in records
        if r["dataset"] == dataset
        and r["event"] == event
        and column_key(r) == column
        and r.get(field) is not None
    ]


def paper_reference(event, column):
    """The paper's (original, adversarial) % for a column, or None.

    The paper's numbers are Algorithm 1's: one round, refitted from scratch.
    """
    model, n_rounds, warm, method = column
    if n_rounds not in (None, 1) or warm or method == "in_loop":
        return None
    return PAPER_TABLE1.get(event, {}).get(model)


def summarise(records, events, columns, *, dataset):
    """Table-I-shaped Markdown: per event, original and adversarial rows, mean +- std."""
    fields = {
        "original": "clean_accuracy",
        "original macro-F1": "clean_macro_f1",
        "original balanced accuracy": "clean_balanced_accuracy",
        "adversarial (white-box)": "adversarial_accuracy",
        "white-box macro-F1": "adversarial_macro_f1",
        "adversarial (from plain)": "transfer_accuracy",
        "from plain macro-F1": "transfer_macro_f1",
        "PGD-10": "pgd_accuracy",
        "PGD-10 macro-F1": "pgd_macro_f1",
        "strongest attack (worst case)": "strongest_accuracy",
        "strongest macro-F1": "strongest_macro_f1",
    }
    lines = [
        "| event | row | " + " | ".join(column_label(c) for c in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for event in events:
        rows = {name: [] for name in [*fields, "one class", "paper original", "paper adversarial"]}
        for column in columns:
            for name, field in fields.items():
                values = column_values(records, dataset, event, column, field)
                rows[name].append(
                    f"{np.mean(values):.2f} ± {np.std(values):.2f}" if values else "-"
                )
            flags = [
                r["one_class"]
                for r in records
                if r["dataset"] == dataset
                and r["event"] == event
                and column_key(r) == column
                and r.get("one_class") is not None
            ]
            collapsed = sum(flags)
            rows["one class"].append(
                f"**{collapsed}/{len(flags)} seeds**"
                if collapsed and column[0] != "majority"
                else f"{collapsed}/{len(flags)}"
                if flags
                else "-"
            )
            ref = paper_reference(event, column)
            rows["paper original"].append(f"{ref[0]:.2f}" if ref else "-")
            rows["paper adversarial"].append(f"{ref[1]:.2f}" if ref else "-")
        if all(c == "-" for name in fields for c in rows[name]):
            continue  # nothing measured for this event
        for name, cells in rows.items():
            if any(c != "-" for c in cells):
                lines.append(f"| {event} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def present_columns(records, dataset):
    order = [*TABLE1_MODELS, *BASELINES]
    keys = {column_key(r) for r in records if r["dataset"] == dataset}
    return sorted(keys, key=lambda k: (order.index(k[0]), k[3] == "in_loop", k[1] or 0, bool(k[2])))


def load_records(paths):
    """Records and metadata of earlier ``--json`` files."""
    records, metas = [], []
    for path in paths:
        try:
            report = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"--from-json: cannot read {path}: {exc}") from None
        if not isinstance(report, dict) or "records" not in report:
            raise SystemExit(f"--from-json: {path} is not a table1.py --json report")
        for record in report["records"]:
            if not TABLE1_MODELS.get(record["model"], (None, False))[1]:
                record["n_rounds"] = None  # older reports gave plain models a round count
            record.setdefault("warm_start", False if record["n_rounds"] else None)
            records.append(record)
        metas.append(report.get("meta", {}))
    # runs that share a split and a column (the plain model of two runs with the
    # same grid) count once
    unique = {}
    for record in records:
        key = (record["dataset"], record["event"], record["seed"], *column_key(record))
        unique.setdefault(key, record)
    return sorted(unique.values(), key=_sort_key), metas


def plot_summary(records, path):
    """One panel per event: clean, white-box and from-plain accuracy per column.

    Bars are means over seeds with their standard deviation; black marks are
    the paper's Table I (its "adversarial" for a plain model is the
    white-box attack, for an adversarially trained one the examples of the
    plain model).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'skmmat[plot]'") from None
    events = list(dict.fromkeys(r["event"] for r in records if r["dataset"] == "crisismmd"))
    columns = present_columns(records, "crisismmd")
    kinds = [
        ("clean_accuracy", "original", "#4C72B0"),
        ("adversarial_accuracy", "adversarial (white-box)", "#DD8452"),
        ("transfer_accuracy", "adversarial (from plain model)", "#55A868"),
    ]
    width = 0.26
    # about as wide as a documentation page at 150 dpi, so its text is read at full size
    fig, axes = plt.subplots(
        len(events),
        1,
        figsize=(max(7.0, 1.05 * len(columns) + 1.5), 2.9 * len(events)),
        squeeze=False,
    )
    for ax, event in zip(axes[:, 0], events, strict=True):
        for j, column in enumerate(columns):
            for k, (field, label, colour) in enumerate(kinds):
                values = column_values(records, "crisismmd", event, column, field)
                if values:
                    ax.bar(
                        j + (k - 1) * width * (column[0] not in BASELINES),
                        np.mean(values),
                        width,
                        yerr=np.std(values),
                        color=colour,
                        label=label,
                        error_kw={"elinewidth": 0.8, "capsize": 2},
                    )
            ref = paper_reference(event, column)
            if ref:
                adversarial_at = 1 if column[0] not in PLAIN_COUNTERPART else 2
                ax.plot(
                    [j - width, j + (adversarial_at - 1) * width],
                    ref,
                    "kD",
                    markersize=4,
                    label="paper",
                )
        title = EVENT_NAMES.get(event, event.replace("_", " "))
        ax.set_title(title, fontsize=10, loc="left")
        labels = [textwrap.fill(column_label(c), 14) for c in columns]
        ax.set_xticks(range(len(columns)), labels, fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel("accuracy (%)")
        ax.spines[["top", "right"]].set_visible(False)
    handles = {}  # one legend entry per label
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(
        handles.values(), handles.keys(), loc="lower center", ncol=4, frameon=False, fontsize=8
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def write_summary(args, records, metas):
    """Print the Table-I-shaped Markdown report and write it to ``--markdown``."""
    seeds = sorted({r["seed"] for r in records})
    text = [f"# Table I ({len(seeds)} seeds)", ""]
    text += [f"`{m['command']}`" for m in metas if "command" in m]
    text += ["", "; ".join(sorted({m["machine"] for m in metas if "machine" in m})), ""]
    events = list(dict.fromkeys(r["event"] for r in records if r["dataset"] == "crisismmd"))
    text.append(
        summarise(records, events, present_columns(records, "crisismmd"), dataset="crisismmd")
    )
    if any(r["dataset"] == "demo" for r in records):
        text += [
            "",
            "## Image and multimodal columns on the demo data (synthetic tweets, 25% test)",
            "",
            summarise(records, ["demo"], present_columns(records, "demo"), dataset="demo"),
        ]
    grids = {}
    for r in records:
        if r.get("grid"):
            grids.setdefault((r["event"], r["seed"]), r["grid"])
    if grids:
        text += [
            "",
            "## Grid search (Text-CNN, 3-fold CV inside each seed's training split, chosen by "
            + " / ".join(sorted({g.get("select", "accuracy") for g in grids.values()}))
            + ")",
            "",
            "| event | seed | chosen | CV accuracy | CV adversarial accuracy | seconds |",
            "|---|---|---|---|---|---|",
        ]
        for (event, seed), grid in sorted(grids.items()):
            i = grid["params"].index(grid["chosen"])
            text.append(
                f"| {event} | {seed} | {grid['chosen']} | {100 * grid['accuracy'][i]:.2f} | "
                f"{100 * grid['adversarial'][i]:.2f} | {grid['seconds']:.0f} |"
            )
    splits = sorted({r.get("split", "rows") for r in records})
    shared = [
        r["test_rows_sharing_a_tweet_with_training"] / r["n_test"]
        for r in records
        if r["model"] == "majority" and "test_rows_sharing_a_tweet_with_training" in r
    ]
    text += ["", f"Split: {', '.join(splits)}."]
    if shared:
        text[-1] += (
            f" Test rows whose tweet_id also has a training row: "
            f"{100 * min(shared):.1f}-{100 * max(shared):.1f} %."
        )
    out = "\n".join(text)
    print("\n" + out)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(out + "\n")
    if args.plot and any(r["dataset"] == "crisismmd" for r in records):
        plot_summary(records, args.plot)


def main(argv=None):
    args = parse_args(argv)
    command = "python " + " ".join([sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    if args.from_json:
        records, metas = load_records(args.from_json)
        write_summary(args, records, metas + [{"command": command}])
        return 0
    started = time.strftime("%Y-%m-%d %H:%M")
    df = load_crisismmd(args.data, events=args.events)
    models = list(args.models)
    missing = sum(not os.path.isfile(p) for p in df["image"])
    image_models = []
    if missing:
        text_models = [m for m in models if m in TEXT_MODELS]
        print(
            f"Images absent under {args.data / 'data_image'} ({missing} of {len(df)} "
            "missing): running the text columns only "
            f"({', '.join(text_models) or 'none requested'})."
        )
        image_models = [m for m in models if m not in TEXT_MODELS]
        models = text_models
    threads = (
        f"{args.jobs} processes of 1 thread"
        if args.jobs > 1
        else f"{torch.get_num_threads()} threads"
    )
    meta = {
        "command": command,
        "started": started,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({threads})",
        "vectors": str(args.vectors),
        "rounds": args.rounds,
        "split": args.split,
    }

    def write(records):
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"meta": meta, "records": records}, indent=1))

    tasks = []
    for event in args.events:
        part = df[df["event"] == event].reset_index(drop=True)
        X, y = part[["tweet_id", "image", "text"]], part["label"].to_numpy()
        tasks += [
            (f"{event} seed {seed}", run_event_seed, (event, seed, X, y, models))
            for seed in range(args.seeds)
        ]
    if args.demo and image_models:
        tasks += [
            (f"demo seed {seed}", run_demo_seed, (seed, image_models)) for seed in range(args.seeds)
        ]
    records = run_tasks(tasks, args, write)
    write(records)
    write_summary(args, records, [meta])
    return 0


if __name__ == "__main__":
    sys.exit(main())
