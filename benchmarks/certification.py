"""Certified robustness: what no attack in the threat model can break, per training.

For each CrisisMMD event's text column (Text-CNN, GloVe 6B 50-d, 15 words) and,
with ``--images``, California wildfires' real images (Visual-CNN and MMN), per
seed, a 10 % test split by tweet, four trainings:

* plain;
* Algorithm 1 (one round, the paper's);
* in-loop adversarial training (``method="in_loop"``);
* certified training (``method="ibp"``: interval bounds, the box and the
  robust loss's weight ramped over the first ``--ramp-epochs`` epochs, then
  ``--ibp-epochs`` in all without early stopping).

Each is measured on the test split:

* clean accuracy and macro-F1;
* certified accuracy (:func:`skmmat.metrics.certify`): texts, every word
  within its 10 nearest GloVe neighbours, any number of words at once; images,
  the eps-ball (0.1) clipped to [0, 1]; MMN, both at once ("joint");
* the majority-class rate of the test split beside it (a model that predicts
  one class certifies at most that);
* accuracy and macro-F1 under the strongest attack of the same threat
  model: the per-tweet worst case of the paper's Eq. 2 and the query-only
  greedy search without a budget (texts), of PGD-10 from the best of 3 random
  starts (images), and of those plus the joint attack, PGD-10 with 3 steps of
  Eq. 2 from one gradient per step (MMN);
* how many certified tweets the attack broke (always 0 for a sound
  certificate);
* images: the largest eps of a grid at which certified accuracy (images
  attacked, texts held) beats the majority rate.

    python benchmarks/certification.py --data <CrisisMMD v2.0 root> --seeds 5 --jobs 2 \\
        --json benchmarks/results/certification_text.json \\
        --markdown benchmarks/results/certification_text.md
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    WordSubstitutionPerturber,
)
from skmmat.datasets import crisismmd_train_test_split, load_crisismmd
from skmmat.experiments import PAPER_TABLE1, make_table1_model
from skmmat.metrics import adversarial_predictions, certify, prediction_scores

#: the paper's four events (Table I)
EVENTS = tuple(PAPER_TABLE1)
TRAININGS = ("plain", "Algorithm 1", "in-loop", "IBP")
#: random starts of the PGD attack on images
PGD_RESTARTS = 3
#: the image eps grid of the "largest certified eps" figure
EPS_GRID = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
#: Table I's model names of each column, plain and adversarial
COLUMNS = {
    "Text-CNN": ("text_cnn", "text_cnn_adv"),
    "Visual-CNN": ("visual_cnn", "visual_cnn_adv"),
    "MMN": ("mmn", "mmat"),
}


def threat_model(column):
    """The perturbers of a column's threat model: ``(image, text)``, None where unread."""
    image = FGSMPerturber(eps=0.1) if column != "Text-CNN" else None
    text = WordSubstitutionPerturber() if column != "Visual-CNN" else None
    return image, text


def strongest_attacks(column, seed):
    """The per-tweet worst case of the column's strongest attacks, for ``attacks=...``.

    The clean input comes first, so that a tweet the model gets wrong counts as
    broken whatever an attack makes of it.
    """
    pgd = FGSMPerturber(
        eps=0.1, n_iter=10, random_start=True, n_restarts=PGD_RESTARTS, random_state=seed
    )
    eq2 = WordSubstitutionPerturber()
    greedy = WordSubstitutionPerturber(search="greedy")
    clean = {"image_perturber": None, "text_perturber": None}
    if column == "Text-CNN":
        return [clean, {"text_perturber": eq2}, {"text_perturber": greedy}]
    if column == "Visual-CNN":
        return [clean, {"image_perturber": pgd}]
    # MMN: each modality alone, then both from one gradient per step (10 PGD steps, 3
    # Eq. 2 steps)
    return [
        clean,
        {"image_perturber": pgd, "text_perturber": None},
        {"image_perturber": None, "text_perturber": greedy},
        {
            "image_perturber": pgd,
            "text_perturber": WordSubstitutionPerturber(n_iter=3),
            "joint": True,
        },
    ]


def make_models(column, seed, args):
    """The four trainings of one column."""
    plain_name, adv_name = COLUMNS[column]
    params = {"random_state": seed, "preprocessing": False, "validation_groups": "tweet_id"}
    if args.class_weight:
        params["class_weight"] = args.class_weight
    if args.epochs:
        params["max_epochs"] = args.epochs
    image, text = threat_model(column)
    # certified training ramps the box over the epochs: a fixed number of epochs, since
    # early stopping on the clean validation loss would keep an early, small-box epoch
    ibp_params = {**params, "max_epochs": args.ibp_epochs, "patience": None}
    return {
        "plain": make_table1_model(plain_name, **params),
        "Algorithm 1": make_table1_model(adv_name, **params),
        "in-loop": AdversarialAugmentationWrapper(
            make_table1_model(plain_name, **params), method="in_loop", random_state=seed
        ),
        "IBP": AdversarialAugmentationWrapper(
            make_table1_model(plain_name, **ibp_params),
            image_perturber=image,
            text_perturber=text,
            method="ibp",
            ramp_epochs=args.ramp_epochs,
            random_state=seed,
        ),
    }


def load_column(data, event, column, rows=None):
    """The preprocessed frame and labels of one event (its first ``rows``), for one column."""
    df = load_crisismmd(data, events=event)
    if rows:
        df = df.iloc[:rows]
    steps = [GloveSequencer()]
    keep = ["tweet_id", "text"]
    if column != "Text-CNN":
        df = df[df["image"].notna()].reset_index(drop=True)
        steps.insert(0, ImageResizer())
        keep.append("image")
    X = df[keep]
    for step in steps:
        X = step.fit_transform(X)
    return X, df["label"].to_numpy()


def measure(model, column, X_te, y_te, seed):
    """Clean, certified and attacked scores of one fitted model."""
    image, text = threat_model(column)
    y_clean = model.predict(X_te)
    clean = prediction_scores(y_te, y_clean)
    certified, _ = certify(model, X_te, y_te, image_perturber=image, text_perturber=text)
    start = time.perf_counter()
    y_adv, _ = adversarial_predictions(model, X_te, y_te, attacks=strongest_attacks(column, seed))
    attacked = prediction_scores(y_te, y_adv)
    majority = float(np.max(np.unique(y_te, return_counts=True)[1]) / len(y_te))
    res = {
        "clean_accuracy": clean["accuracy"],
        "clean_macro_f1": clean["macro_f1"],
        "one_class": bool(clean["one_class"]),
        "certified_accuracy": float(np.mean(certified)),
        "majority_rate": majority,
        "attacked_accuracy": attacked["accuracy"],
        "attacked_macro_f1": attacked["macro_f1"],
        "certified_but_broken": int(np.sum(certified & (y_adv != y_te))),
        "attack_s": time.perf_counter() - start,
    }
    if image is not None:
        # images alone (texts held): the certified accuracy along the eps grid
        curve = []
        for eps in EPS_GRID:
            ok, _ = certify(
                model, X_te, y_te, image_perturber=FGSMPerturber(eps=eps), text_perturber=None
            )
            curve.append(float(np.mean(ok)))
        res["image_certified_by_eps"] = dict(zip(map(str, EPS_GRID), curve))
        beats = [eps for eps, acc in zip(EPS_GRID, curve) if acc > majority]
        res["largest_eps_beating_majority"] = max(beats) if beats else None
    return res


def run_one(task):
    """One (column, event, seed): every training, measured."""
    import torch

    torch.set_num_threads(1)
    data, column, event, seed, args = task
    X, y = load_column(data, event, column, args.rows)
    X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(X, y, random_state=seed)
    out = {"column": column, "event": event, "seed": seed, "test_rows": len(y_te), "models": {}}
    for name, model in make_models(column, seed, args).items():
        start = time.perf_counter()
        model.fit(X_tr, y_tr)
        res = measure(model, column, X_te, y_te, seed)
        res["fit_s"] = time.perf_counter() - start - res["attack_s"]
        out["models"][name] = res
    print(f"[certification] {column} {event} seed {seed} done", flush=True)
    return out


#: the figures averaged over seeds, in %
_MEANS = (
    "clean_accuracy",
    "clean_macro_f1",
    "certified_accuracy",
    "majority_rate",
    "attacked_accuracy",
    "attacked_macro_f1",
)


def summarise(records):
    """Mean and std over seeds per column, event and training."""
    cells = {}
    for rec in records:
        for name, res in rec["models"].items():
            key = (rec["column"], rec["event"], name)
            cells.setdefault(key, []).append(res)
    summary = {}
    for (column, event, name), runs in cells.items():
        row = {"seeds": len(runs), "one_class": sum(r["one_class"] for r in runs)}
        for field in _MEANS:
            values = [100 * r[field] for r in runs]
            row[field] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
        row["certified_but_broken"] = sum(r["certified_but_broken"] for r in runs)
        row["fit_s"] = float(np.mean([r["fit_s"] for r in runs]))
        if "largest_eps_beating_majority" in runs[0]:
            row["largest_eps_beating_majority"] = [r["largest_eps_beating_majority"] for r in runs]
            row["image_certified_by_eps"] = {
                eps: float(np.mean([100 * r["image_certified_by_eps"][eps] for r in runs]))
                for eps in runs[0]["image_certified_by_eps"]
            }
        summary.setdefault(column, {}).setdefault(event, {})[name] = row
    return summary


def _pm(cell):
    return f"{cell['mean']:.1f} ± {cell['std']:.1f}"


def markdown(summary, meta):
    lines = [
        "# Certified robustness",
        "",
        f"Measured {meta['date']} with `{meta['command']}` ({meta['wall_s'] / 60:.1f} min; "
        f"{meta['seeds']} seeds, 10 % test split by tweet, "
        f"{'balanced class weights' if meta['class_weight'] else 'the paper settings'}; "
        f"IBP: {meta['ibp_epochs']} epochs, the box ramped over {meta['ramp_epochs']}).",
        "",
        "In %, mean ± std over seeds. Certified: no input of the threat model changes the "
        "answer (texts: each word within its 10 nearest neighbours, any number of words; "
        "images: the 0.1 ball; MMN: both). Attacked: the per-tweet worst case of the "
        "strongest attacks (texts: Eq. 2 and the greedy search without a budget; images: "
        "PGD-10, best of 3 random starts; MMN: those and the joint PGD-10 + 3-step Eq. 2). "
        "`*n`: n seeds "
        "predicted one class; broken: certified tweets the attacks broke (0 if sound).",
    ]
    for column, events in summary.items():
        lines += ["", f"## {column}"]
        for event, trainings in events.items():
            lines += ["", f"### {event}", ""]
            head = (
                "| training | clean acc. | clean macro-F1 | certified | majority | "
                "attacked acc. | attacked macro-F1 | broken |"
            )
            extra = column != "Text-CNN"
            if extra:
                head += " largest eps > majority |"
            lines += [head, "|---" * (8 + extra) + "|"]
            for name in TRAININGS:
                row = trainings[name]
                mark = f" *{row['one_class']}" if row["one_class"] else ""
                cells = [
                    _pm(row["clean_accuracy"]),
                    _pm(row["clean_macro_f1"]) + mark,
                    _pm(row["certified_accuracy"]),
                    f"{row['majority_rate']['mean']:.1f}",
                    _pm(row["attacked_accuracy"]),
                    _pm(row["attacked_macro_f1"]),
                    str(row["certified_but_broken"]),
                ]
                if extra:
                    cells.append(
                        ", ".join(
                            "none" if e is None else f"{e:g}"
                            for e in row["largest_eps_beating_majority"]
                        )
                    )
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        if column == "Text-CNN" and len(events) > 1:
            lines += ["", "Mean over the events of the certified accuracy (%):", ""]
            for name in TRAININGS:
                mean = np.mean([t[name]["certified_accuracy"]["mean"] for t in events.values()])
                lines.append(f"- {name}: {mean:.1f}")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="CrisisMMD v2.0 root")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--events", nargs="+", default=list(EVENTS))
    parser.add_argument(
        "--images",
        action="store_true",
        help="California wildfires' real images: Visual-CNN and MMN instead of the texts",
    )
    parser.add_argument("--class-weight", choices=["balanced"], default=None)
    parser.add_argument("--epochs", type=int, help="max_epochs (default: the classifier's)")
    parser.add_argument("--ibp-epochs", type=int, default=20, help="epochs of certified training")
    parser.add_argument("--ramp-epochs", type=int, default=10, help="ramp of certified training")
    parser.add_argument("--jobs", type=int, default=1, help="processes, one split each")
    parser.add_argument(
        "--rows", type=int, help="only the first ROWS rows of each event (smoke runs)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument(
        "--from-json", type=Path, help="run nothing: summarise the records of an earlier run"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.perf_counter()
    if args.images:
        work = [(c, "california_wildfires") for c in ("Visual-CNN", "MMN")]
    else:
        work = [("Text-CNN", event) for event in args.events]
    tasks = [(str(args.data), c, e, seed, args) for c, e in work for seed in range(args.seeds)]
    if args.from_json:
        tasks = []
        records = json.loads(args.from_json.read_text())["records"]
    else:
        records = []

    def keep(record):  # written after every split, so an interrupted run keeps its records
        records.append(record)
        if args.json:
            args.json.write_text(json.dumps({"records": records}, indent=1) + "\n")

    if args.jobs > 1 and tasks:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=ctx) as pool:
            for record in pool.map(run_one, tasks):
                keep(record)
    else:
        for task in tasks:
            keep(run_one(task))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join([os.path.relpath(__file__)] + (argv or sys.argv[1:])),
        "seeds": args.seeds,
        "class_weight": args.class_weight,
        "epochs": args.epochs,
        "ibp_epochs": args.ibp_epochs,
        "ramp_epochs": args.ramp_epochs,
        "rows": args.rows,
        "wall_s": time.perf_counter() - started,
    }
    summary = summarise(records)
    text = markdown(summary, meta)
    print(text)
    if args.json:
        payload = {"meta": meta, "summary": summary, "records": records}
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
