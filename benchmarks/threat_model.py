"""Text robustness under the threat model: the strongest attacks against every training.

For each CrisisMMD event's text column (Text-CNN, GloVe 6B 50-d, 15 words), per
seed, a 10 % test split by tweet, six trainings:

* the plain Text-CNN;
* Algorithm 1 (one round of Text-CNN_adv, the paper's);
* three warm-started rounds of Algorithm 1;
* in-loop adversarial training (``method="in_loop"``, Eq. 2 on every batch);
* certified training (``method="ibp"``, the classifier's defaults: early
  stopping after the 10-epoch ramp);
* TRADES (``method="trades"``, beta 6) with the in-loop attack of 3 Eq. 2
  steps within 3 words;
* randomized smoothing (``method="smoothing"``: a vote of 100 noisy copies,
  the base Text-CNN trained on 4 noisy copies of each tweet) with its default
  masking noise, and with SAFER's substitution noise; beside the attacks,
  its certified accuracy against any 3 substituted words (macro-F1 counting
  uncertified tweets as wrong).

Each is attacked white-box with the attacks of the text threat model (10
candidates per word): the paper's Eq. 2, Eq. 2 in 3 steps within 3 words, the
query-only greedy search within 1, 3 and 6 words, and the per-tweet worst case
of Eq. 2, the 3-step search and the greedy 3-word search. Accuracy and macro-F1
(and whether a model predicted one class) are reported, mean ± std over seeds.

    python benchmarks/threat_model.py --data <CrisisMMD v2.0 root> --seeds 5 --jobs 2 \\
        --json benchmarks/results/threat_model_text.json \\
        --markdown benchmarks/results/threat_model_text.md

``--images`` runs the image part instead, on the one event whose images
CrisisMMD ships (California wildfires, 1,589 real images at 64x64, GloVe
texts): the Visual-CNN and MMN columns, each trained plain, by Algorithm 1,
by three warm rounds and in-loop, evaluated clean and under image PGD-10
with ``--restarts`` random restarts (eps 0.1), and for MMN also under the
joint attack (PGD-10 with restarts and 3 Eq. 2 steps within 3 words from
one gradient per step, ``craft_adversarial(joint=True)``) and the per-tweet
worst case of the PGD, the joint attack and the greedy 3-word text search.
Its records go to ``benchmarks/results/threat_model_images.{json,md}``
unless ``--json``/``--markdown`` say otherwise:

    python benchmarks/threat_model.py --images --data <CrisisMMD v2.0 root> --seeds 5 --jobs 2

``--pooled`` trains each text model once, on the training splits of all the
events pooled, and scores it on each event's test split (the same splits as
the per-event runs, so the two compare tweet for tweet).

``--class-weight balanced`` (and the other training flags of table1.py)
trains every model with balanced class weights (the paper's settings
otherwise). ``--trainings`` runs some of the trainings only, and
``--in-loop-steps N`` makes in-loop training attack texts with N steps of
Eq. 2 within 3 words instead of one step (the threat model's budget of the
3-word greedy search):

    python benchmarks/threat_model.py --data <CrisisMMD v2.0 root> --seeds 5 --jobs 2 \
        --trainings in_loop --in-loop-steps 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from skmmat import (
    GloveSequencer,
    ImageResizer,
    WordSubstitutionPerturber,
)
from skmmat.cli import add_training_arguments, training_options
from skmmat.datasets import crisismmd_train_test_split, load_crisismmd
from skmmat.experiments import PAPER_TABLE1, make_table1_model, strongest_attacks
from skmmat.metrics import adversarial_predictions, prediction_scores

#: the paper's four events (Table I)
EVENTS = tuple(PAPER_TABLE1)
#: the paper's adversarial row of Table I (Text-CNN_adv), accuracy in %
PAPER_ADVERSARIAL = {
    "california_wildfires": 84.3,
    "hurricane_harvey": 86.1,
    "mexico_earthquake": 78.4,
    "srilanka_floods": 89.3,
}
MODELS = (
    "Text-CNN",
    "Algorithm 1",
    "Algorithm 1, 3 warm rounds",
    "in-loop",
    "certified (IBP)",
    "TRADES, 3 steps",
    "smoothed, masking",
    "smoothed, substitution",
)
#: the image part: its event, and its columns (Table I model names) and trainings
IMAGE_EVENT = "california_wildfires"
IMAGE_COLUMNS = {"Visual-CNN": ("visual_cnn", "visual_cnn_adv"), "MMN": ("mmn", "mmat")}
TRAININGS = (
    "plain",
    "Algorithm 1",
    "Algorithm 1, 3 warm rounds",
    "in-loop",
    "certified (IBP)",
    "TRADES, 3 steps",
    "smoothed, masking",
    "smoothed, substitution",
)
IMAGE_MODELS = tuple(f"{column}, {training}" for column in IMAGE_COLUMNS for training in TRAININGS)
#: --trainings' names for TRAININGS
TRAINING_CHOICES = {
    "plain": 0,
    "algorithm1": 1,
    "warm3": 2,
    "in_loop": 3,
    "ibp": 4,
    "trades": 5,
    "smoothing": 6,
    "smoothing_substitute": 7,
}
RESULTS = Path(__file__).resolve().parent / "results"


def attacks(strongest_only=False):
    """The attacks, each a list for ``adversarial_predictions(attacks=...)``.

    ``strongest_only`` leaves out the greedy search within 1 and 6 words.
    """
    strongest = strongest_attacks(["text"])  # Eq. 2, 3 steps and greedy, 3 words

    def greedy(k):
        return {"text_perturber": WordSubstitutionPerturber(search="greedy", max_substitutions=k)}

    out = {
        "clean": [{"text_perturber": None}],
        "Eq. 2": [strongest["Eq. 2"]],
        "Eq. 2, 3 steps, 3 words": [strongest["Eq. 2, 3 steps, 3 words"]],
        "greedy, 1 word": [greedy(1)],
        "greedy, 3 words": [strongest["greedy, 3 words"]],
        "greedy, 6 words": [greedy(6)],
        "worst of Eq. 2, 3 steps, greedy 3": list(strongest.values()),
    }
    if strongest_only:
        del out["greedy, 1 word"], out["greedy, 6 words"]
    return out


def image_attacks(seed, restarts, text=True):
    """The image part's attacks; ``text`` adds the joint attack and the worst case."""
    modalities = ["image", "text"] if text else ["image"]
    strongest = strongest_attacks(modalities, n_restarts=restarts, random_state=seed)
    out = {"clean": [{"image_perturber": None}]}
    out.update((name, [attack]) for name, attack in strongest.items() if "greedy" not in name)
    if text:
        out["worst of PGD, joint, greedy 3"] = list(strongest.values())
    return out


def trainings(plain, adversarial, params, in_loop_steps=1):
    """A column's six trainings, from its plain and adversarial Table I names.

    In-loop training attacks texts with Eq. 2 once (Table I's factory), or
    with ``in_loop_steps`` steps of it within the 3-word budget.
    """
    in_loop = make_table1_model(adversarial, method="in_loop", **params)
    if in_loop_steps > 1:
        steps = WordSubstitutionPerturber(n_iter=in_loop_steps, max_substitutions=3)
        in_loop.set_params(text_perturber=steps)
    models = {
        "plain": make_table1_model(plain, **params),
        "Algorithm 1": make_table1_model(adversarial, **params),
        "Algorithm 1, 3 warm rounds": make_table1_model(
            adversarial, n_rounds=3, warm_start=True, **params
        ),
        "in-loop": in_loop,
        "certified (IBP)": make_table1_model(adversarial, method="ibp", **params),
        "TRADES, 3 steps": make_table1_model(adversarial, method="trades", **params).set_params(
            text_perturber=WordSubstitutionPerturber(n_iter=3, max_substitutions=3)
        ),
    }
    if plain == "text_cnn":  # smoothing votes over text noise: the text part only
        smoothed = make_table1_model(adversarial, method="smoothing", **params)
        models["smoothed, masking"] = smoothed
        models["smoothed, substitution"] = clone(smoothed).set_params(noise="substitute")
    return models


def model_params(seed, options, epochs=None):
    params = {"random_state": seed, "preprocessing": False, "validation_groups": "tweet_id"}
    params.update(options)
    if epochs:
        params["max_epochs"] = epochs
    return params


def make_models(seed, options, epochs=None, in_loop_steps=1, keep=TRAININGS):
    params = model_params(seed, options, epochs)
    models = trainings("text_cnn", "text_cnn_adv", params, in_loop_steps)
    named = zip(MODELS, models.items(), strict=True)
    return {name: model for name, (training, model) in named if training in keep}


def make_image_models(
    seed, options, epochs=None, columns=tuple(IMAGE_COLUMNS), in_loop_steps=1, keep=TRAININGS
):
    params = model_params(seed, options, epochs)
    return {
        f"{column}, {training}": model
        for column in columns
        for training, model in trainings(*IMAGE_COLUMNS[column], params, in_loop_steps).items()
        if training in keep
    }


def training(setup):
    """The keywords of make_models in a task's setup."""
    return {"in_loop_steps": setup["in_loop_steps"], "keep": setup["keep"]}


def prepare(data, event, rows, images, size):
    """One event's preprocessed frame and labels."""
    df = load_crisismmd(data, events=event)
    if rows:
        df = df.iloc[:rows]
    if images:
        steps = [ImageResizer(size=(size, size)), GloveSequencer()]
        X = df[["tweet_id", "image", "text"]]
    else:
        steps = [GloveSequencer()]
        X = df[["tweet_id", "text"]]
    for step in steps:
        X = step.fit_transform(X)
    return X, df["label"].to_numpy()


def score(model, X_te, y_te, specs):
    """A fitted model under every attack (and its certificates, where it certifies).

    A worst case over attacks that already ran alone is put together from their
    predictions, as ``adversarial_predictions(attacks=...)`` would (each row keeps
    the first attack that breaks it): the attacks are deterministic, so running
    them again would give the same examples.
    """
    res = {}
    alone = {}
    for attack, spec in specs.items():
        start = time.perf_counter()
        if len(spec) > 1 and all(id(item) in alone for item in spec):
            y_adv = alone[id(spec[0])]
            for item in spec[1:]:
                y_adv = np.where(y_adv == y_te, alone[id(item)], y_adv)
        else:
            y_adv, _ = adversarial_predictions(model, X_te, y_te, attacks=spec)
            if len(spec) == 1:
                alone[id(spec[0])] = y_adv
        scores = prediction_scores(y_te, y_adv)
        res[attack] = {
            "accuracy": scores["accuracy"],
            "macro_f1": scores["macro_f1"],
            "one_class": bool(scores["one_class"]),
            "seconds": time.perf_counter() - start,
        }
    if hasattr(model, "certify"):
        res["certified"] = certified_scores(model, X_te, y_te)
    return res


def run_one(task):
    """One (event, seed): every model under every attack."""
    import torch

    torch.set_num_threads(1)
    data, event, seed, options, epochs, images, restarts, rows, size, column, setup = task
    X, y = prepare(data, event, rows, images, size)
    X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(X, y, random_state=seed)
    out = {"event": event, "seed": seed, "test_rows": len(y_te), "models": {}, **setup}
    if images:
        out["column"] = column
        models = make_image_models(seed, options, epochs, columns=(column,), **training(setup))
    else:
        models = make_models(seed, options, epochs, **training(setup))
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_tr, y_tr)
        fit_s = time.perf_counter() - start
        if images:
            specs = image_attacks(seed, restarts, name.startswith("MMN"))
        else:
            specs = attacks(setup["strongest_only"])
        out["models"][name] = {"fit_s": fit_s, **score(model, X_te, y_te, specs)}
    print(f"[threat_model] {event} seed {seed} {column or ''} done", flush=True)
    return out


def run_pooled(task):
    """One seed of pooled training: each model fitted once on every event's training
    split, scored on each event's test split (the splits of :func:`run_one`)."""
    import torch

    torch.set_num_threads(1)
    data, events, seed, options, epochs, rows, setup = task
    splits = {}
    for event in events:
        X, y = prepare(data, event, rows, False, None)
        splits[event] = crisismmd_train_test_split(X, y, random_state=seed)
    X_tr = pd.concat([splits[e][0] for e in events], ignore_index=True)
    y_tr = np.concatenate([splits[e][2] for e in events])
    out = {
        event: {
            "event": event,
            "seed": seed,
            "test_rows": len(splits[event][3]),
            "models": {},
            "pooled": True,
            **setup,
        }
        for event in events
    }
    for name, model in make_models(seed, options, epochs, **training(setup)).items():
        start = time.perf_counter()
        model.fit(X_tr, y_tr)
        fit_s = time.perf_counter() - start
        for event in events:
            _, X_te, _, y_te = splits[event]
            specs = attacks(setup["strongest_only"])
            out[event]["models"][name] = {"fit_s": fit_s, **score(model, X_te, y_te, specs)}
    print(f"[threat_model] pooled seed {seed} done", flush=True)
    return list(out.values())


def certified_scores(model, X, y):
    """Certified accuracy, and macro-F1 counting every uncertified tweet as misclassified."""
    start = time.perf_counter()
    certified, _ = model.certify(X, y)
    classes = np.unique(y)
    wrong = classes[(np.searchsorted(classes, y) + 1) % len(classes)]
    scores = prediction_scores(y, np.where(certified, y, wrong))
    return {
        "accuracy": float(certified.mean()),
        "macro_f1": scores["macro_f1"],
        "one_class": bool(len(np.unique(y[certified])) < 2),
        "seconds": time.perf_counter() - start,
    }


def summarise(records):
    """Mean and std per event, model and attack."""
    table = {}
    for rec in records:
        for model, res in rec["models"].items():
            for attack, sc in res.items():
                if attack == "fit_s":
                    continue
                cell = table.setdefault(rec["event"], {}).setdefault(model, {})
                cell.setdefault(attack, []).append(sc)
    summary = {}
    for event, models in table.items():
        for model, by_attack in models.items():
            for attack, cells in by_attack.items():
                acc = [100 * c["accuracy"] for c in cells]
                f1 = [100 * c["macro_f1"] for c in cells]
                summary.setdefault(event, {}).setdefault(model, {})[attack] = {
                    "accuracy_mean": float(np.mean(acc)),
                    "accuracy_std": float(np.std(acc)),
                    "macro_f1_mean": float(np.mean(f1)),
                    "macro_f1_std": float(np.std(f1)),
                    "one_class": int(sum(c["one_class"] for c in cells)),
                    "seeds": len(cells),
                }
    return summary


def seeds_text(meta):
    """ "5 seeds", or the seeds of each event where they differ."""
    per_event = meta.get("seeds_per_event") or {}
    if len(set(per_event.values())) > 1:
        return "seeds per event: " + ", ".join(f"{e} {n}" for e, n in per_event.items())
    return f"{meta['seeds']} seeds"


def record_key(record):
    """What a record is of: its event, seed and (image part) column."""
    return record["event"], record["seed"], record.get("column")


def resumed_task(task, records, pooled):
    """``--resume``: the task cut to the trainings its records lack, or None if they hold all.

    A task's setup (its last item) names the trainings to run; a record names those it
    holds (``keep``). A task whose records hold some of them runs only the others, and
    :func:`merge_records` adds the new models to the same records.
    """
    setup = task[-1]
    if pooled:
        keys = [(event, task[2], None) for event in task[1]]
    else:
        keys = [(task[1], task[2], task[9])]
    held = {record_key(r): set(r.get("keep", ())) for r in records}
    missing = [t for t in setup["keep"] if any(t not in held.get(key, ()) for key in keys)]
    return (*task[:-1], {**setup, "keep": missing}) if missing else None


def merge_records(records, new):
    """Add a task's records; one of an (event, seed, column) already there gains its models."""
    index = {record_key(r): r for r in records}
    for record in new:
        old = index.get(record_key(record))
        if old is None:
            records.append(record)
            index[record_key(record)] = record
            continue
        if old["test_rows"] != record["test_rows"]:
            raise ValueError(f"--resume: {record_key(record)} has another test split")
        old["models"].update(record["models"])
        held = {*old.get("keep", ()), *record["keep"]}
        old["keep"] = [t for t in TRAININGS if t in held]


def markdown(summary, meta):
    images = meta.get("images", False)
    settings = "balanced class weights" if meta["class_weight"] else "the paper settings"
    flags = [k for k, v in meta.get("training_options", {}).items() if v is True]
    if flags:
        settings += ", " + ", ".join(f"`{k}=True`" for k in flags)
    if meta.get("in_loop_steps", 1) > 1:
        settings += f", in-loop training with {meta['in_loop_steps']} Eq. 2 steps within 3 words"
    if meta.get("rows"):
        settings += f", the first {meta['rows']} rows of each event"
    if meta.get("pooled"):
        settings += (
            ", each model trained once on the training splits of all the events pooled "
            "and tested on each event's own test split"
        )
    encoder = meta.get("training_options", {}).get("image_encoder")
    if images and encoder:
        settings += f", `image_encoder={encoder!r}`"
    if images and meta.get("image_size", 64) != 64:
        settings += f", {meta['image_size']}x{meta['image_size']} images"
    lines = [
        f"# {'Image' if images else 'Text'} robustness under the threat model",
        "",
        f"Measured {meta['date']} with `{meta['command']}` ({meta['wall_s'] / 60:.1f} min"
        f"{' for the tasks it resumed' if meta.get('resumed') else ''}; "
        f"{seeds_text(meta)}, 10 % test split by tweet, {settings}).",
        "",
        "Accuracy / macro-F1 in %, mean ± std over seeds; `*n`: n seeds predicted one class. "
        "The greedy search queries the model only; the worst case counts a tweet as robust "
        "only if all its attacks leave it right.",
    ]
    if any("certified" in m for models in summary.values() for m in models.values()):
        lines[-1] += (
            " `certified`: the share of tweets whose right prediction is certified against "
            "any 3 substituted words (each wrong with probability at most 0.002), with "
            "macro-F1 counting uncertified tweets as wrong; `*n` there: n seeds certified "
            "tweets of one class only, or none."
        )
    if images:
        lines[-1] += (
            " Images: eps 0.1 (L-infinity), PGD-10 from random starts, each tweet keeping "
            "its strongest start; the joint attack takes one gradient per step for the "
            "image step and the text's Eq. 2 step. Visual-CNN reads no text: its text attacks "
            "are not run (–)."
        )
        headings = {event: f"## {event} (images and texts)" for event in summary}
        names = IMAGE_MODELS
    else:
        headings = {
            event: f"## {event} (paper's Text-CNN_adv row: {PAPER_ADVERSARIAL[event]})"
            for event in summary
        }
        names = MODELS
    # the attacks in the order the records hold them (Visual-CNN has no text attacks)
    attack_names = list(
        dict.fromkeys(a for models in summary.values() for m in models.values() for a in m)
    )
    for event, models in summary.items():
        lines += ["", headings[event], ""]
        lines.append("| model | " + " | ".join(attack_names) + " |")
        lines.append("|---" * (len(attack_names) + 1) + "|")
        for model in (n for n in names if n in models):  # a partial run may lack some
            cells = []
            for attack in attack_names:
                c = models[model].get(attack)
                if c is None:
                    cells.append("–")
                    continue
                mark = f" *{c['one_class']}" if c["one_class"] else ""
                cells.append(
                    f"{c['accuracy_mean']:.1f} ± {c['accuracy_std']:.1f} / "
                    f"{c['macro_f1_mean']:.1f}{mark}"
                )
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="CrisisMMD v2.0 root")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--events", nargs="+", default=None, help=f"text part only (default: {list(EVENTS)})"
    )
    parser.add_argument(
        "--images",
        action="store_true",
        help=f"the image part: Visual-CNN and MMN on {IMAGE_EVENT}'s real images",
    )
    parser.add_argument(
        "--restarts", type=int, default=5, help="random starts of the image PGD (default: 5)"
    )
    parser.add_argument(
        "--image-size", type=int, default=64, help="side of the resized images (default: 64)"
    )
    parser.add_argument(
        "--rows", type=int, help="only the first ROWS rows of each event (smoke runs)"
    )
    add_training_arguments(parser)
    parser.add_argument("--epochs", type=int, help="max_epochs (default: the classifier's)")
    parser.add_argument("--jobs", type=int, default=1, help="processes, one (event, seed) each")
    parser.add_argument(
        "--trainings",
        nargs="+",
        choices=list(TRAINING_CHOICES),
        default=list(TRAINING_CHOICES),
        help="the trainings to run (default: all)",
    )
    parser.add_argument(
        "--in-loop-steps",
        type=int,
        default=1,
        help="in-loop training's text attack: Eq. 2 once (1, the default), "
        "or this many steps within 3 words",
    )
    parser.add_argument(
        "--strongest-only",
        action="store_true",
        help="text part: only the clean score, the strongest attacks and their worst case "
        "(leaves out the greedy search within 1 and 6 words)",
    )
    parser.add_argument(
        "--pooled",
        action="store_true",
        help="text part: fit each model once on the training splits of all the events, "
        "pooled, and score it on each event's test split",
    )
    parser.add_argument(
        "--json", type=Path, help="default with --images: results/threat_model_images.json"
    )
    parser.add_argument(
        "--markdown", type=Path, help="default with --images: results/threat_model_images.md"
    )
    parser.add_argument(
        "--from-json", type=Path, help="run nothing: summarise the records of an earlier run"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the records already in --json and run only what they lack: missing "
        "tasks, and trainings a task's records do not hold yet (added to those records)",
    )
    args = parser.parse_args(argv)
    if args.images and args.pooled:
        parser.error("--pooled trains the text part on every event; --images has one event")
    if args.images:
        if args.events not in (None, [IMAGE_EVENT]):
            parser.error(f"--images runs {IMAGE_EVENT} only (the one event with images)")
        args.events = [IMAGE_EVENT]
        args.json = args.json or RESULTS / "threat_model_images.json"
        args.markdown = args.markdown or RESULTS / "threat_model_images.md"
    elif args.events is None:
        args.events = list(EVENTS)
    args.trainings = [TRAINING_CHOICES[t] for t in args.trainings]
    if args.in_loop_steps < 1:
        parser.error("--in-loop-steps must be at least 1")
    if args.restarts < 1:
        parser.error("--restarts must be at least 1")
    if args.rows is not None and args.rows < 20:
        parser.error("--rows must be at least 20")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.perf_counter()
    options = training_options(args)
    # the image part runs a task per (seed, column), so that two processes stay busy
    columns = list(IMAGE_COLUMNS) if args.images else [None]
    common = (options, args.epochs, args.images, args.restarts, args.rows, args.image_size)
    setup = {
        "in_loop_steps": args.in_loop_steps,
        "keep": [TRAININGS[i] for i in args.trainings],
        "strongest_only": args.strongest_only,
    }
    run = run_one
    tasks = [
        (str(args.data), event, seed, *common, c, setup)
        for event in args.events
        for seed in range(args.seeds)
        for c in columns
    ]
    if args.pooled:
        run = run_pooled
        tasks = [
            (str(args.data), args.events, seed, options, args.epochs, args.rows, setup)
            for seed in range(args.seeds)
        ]
    records = []
    if args.from_json:
        tasks = []
        records = json.loads(args.from_json.read_text())["records"]
    elif args.resume and args.json and args.json.is_file():
        records = json.loads(args.json.read_text())["records"]
        tasks = [t for t in (resumed_task(t, records, args.pooled) for t in tasks) if t]
        print(f"[threat_model] resuming: {len(records)} records kept, {len(tasks)} tasks left")

    def keep(result):  # written after every task, so an interrupted run keeps its records
        merge_records(records, result if isinstance(result, list) else [result])
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"records": records}, indent=1) + "\n")

    if args.jobs > 1 and tasks:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=ctx) as pool:
            for future in as_completed([pool.submit(run, t) for t in tasks]):
                keep(future.result())
    else:
        for task in tasks:
            keep(run(task))
    records.sort(key=lambda r: (r["event"], r["seed"], r.get("column") or ""))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join([os.path.relpath(__file__)] + (argv or sys.argv[1:])),
        "seeds": len({r["seed"] for r in records}),
        "seeds_per_event": {
            e: len({r["seed"] for r in records if r["event"] == e})
            for e in dict.fromkeys(r["event"] for r in records)
        },
        "resumed": bool(args.resume),
        "class_weight": options.get("class_weight"),
        "training_options": options,
        "epochs": args.epochs,
        "images": args.images,
        "restarts": args.restarts if args.images else None,
        "image_size": args.image_size if args.images else None,
        "rows": args.rows,
        "in_loop_steps": args.in_loop_steps,
        "pooled": args.pooled,
        "strongest_only": args.strongest_only,
        "wall_s": time.perf_counter() - started,
    }
    summary = summarise(records)
    text = markdown(summary, meta)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"meta": meta, "summary": summary, "records": records}, indent=1) + "\n"
        )
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
