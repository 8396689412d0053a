"""Speed and memory benchmark of skmmat: attacks, adversarial training, candidate sets.

Examples
--------
The full benchmark (default sizes, about 10 to 15 minutes on 2 idle cores)::

    python benchmarks/speed.py --json benchmarks/results/speed.json \\
        --markdown benchmarks/results/speed.md

The tiny mode run by ``tests/test_benchmarks_smoke.py`` (32x32 images, a few
rows, the candidate sets on a 20,000-word subset of the table)::

    python benchmarks/speed.py --smoke --json /tmp/speed.json

Figures
-------
1. ``fgsm_over_loss_gradient``: time of ``FGSMPerturber(clf).fit_transform``
   over one ``clf.loss_gradient`` pass, same fitted MMN and batch.
2. ``mmat_fit_over_mmn_fit``: ``AdversarialAugmentationWrapper`` fit over a
   plain ``MultiModalCNNClassifier`` fit, ``patience=None`` and the same
   ``max_epochs`` and data (the floor is about 3: fit, perturb, refit on 2n),
   at 10 epochs and at 4 (``mmat_fit_over_mmn_fit_short``), where the round's
   fixed passes weigh more.
3. Candidate sets (``n_candidates=10``) of the whole CrisisMMD vocabulary
   against the 400,000-word GloVe table: the default search (exact for this
   table) in a fresh process with an empty cache, then read back from the
   on-disk cache; the approximate search cold (pynndescent graph built into
   an empty cache, numba compilation included) and cached (graph read back
   from disk), and the recall@10 of its candidates against the exact ones.
4. ``FGSMPerturber`` against the adversarial-robustness-toolbox (ART)
   ``FastGradientMethod`` on the same torch module and batch: output
   difference and time ratio (skipped when ART is not installed:
   ``pip install adversarial-robustness-toolbox``).
5. Throughput of raw rows (image arrays + text) to labels through a fitted
   ``Pipeline(ImageResizer, GloveSequencer, MultiModalCNNClassifier)``.
6. Peak resident memory of an MMAT fit and of a plain MMN fit on all 8,425
   CrisisMMD rows (real texts, synthetic 64x64 images), each in its own child
   process, expressed in copies of the image tensor.
7. The real California wildfires JPEG files (skipped without them):
   ``ImageResizer`` (``decode="reduced"``, one thread) against Pillow's floor
   (draft to 64x64, convert, resize) and against ``decode="full"``, the pixel
   difference between the two decodings, two-thread throughput, raw files
   plus texts to labels through the fitted pipeline, and the test balanced
   accuracy of a Visual-CNN trained on each decoding.
8. ``certify_over_predict``: certifying a split over one prediction pass.
9. The pretrained image encoder (EfficientNet-Lite0) at 128 and 224 px:
   ``predict_proba`` of a Visual-CNN over it against the bare forward pass of
   the same network on a stacked tensor (the floor), raw California JPEG
   files and texts to labels, and an MMN fit with the frozen encoder (its
   feature pass included) over a from-scratch MMN fit at the paper's 64 px.
10. Signed model files: ``save_model`` with an Ed25519 ``signing_key`` over
    ``save_model``, and ``load_model`` with ``verify_key`` over ``load_model``,
    for an MMN pipeline trained on all California wildfires rows (real images;
    demo tweets without them). Skipped without ``cryptography``.
11. Robust text training and smoothed prediction, on Mexico earthquake texts
    (demo texts without the annotations): a TRADES fit (3 Eq. 2 steps within
    3 words on every batch) and a ``RandomizedSmoothingClassifier`` fit over
    a plain Text-CNN fit, the same fixed epochs; the smoothed model's
    ``predict`` and ``certify`` over the plain model's ``predict``.

Every time is the median of repeated runs; ratios are taken between runs made
side by side (alternating order) in the same process, because the machine's
cores are shared and absolute times drift.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# The figures live in benchmarks/_speed/, next to this script: importable whether
# this file runs as a script or is loaded from elsewhere.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _speed import (  # noqa: E402
    REPO,
    art,
    candidates,
    certify,
    decoding,
    fgsm,
    memory,
    mmat,
    pretrained,
    report,
    robust_text,
    signing,
    throughput,
)
from _speed.common import (  # noqa: E402
    N_CANDIDATES,
    collect_worker,
    demo_frame,
    log,
    machine_description,
    mmn,
    run_worker,
    spawn_worker,
)

from skmmat.embeddings import load_vectors  # noqa: E402

SIZES = {
    "default": {
        "image_size": 64,
        "fit_rows": 512,
        "fit_epochs": 2,
        "fgsm_rows": 512,
        "fgsm_repeats": 5,
        "mmat_rows": 400,
        # early stopping ran Text-CNN for 13 to 18 epochs on three CrisisMMD events;
        # the passes MMAT adds (gradient, attack accuracy) cost a fixed ~2 epochs
        "mmat_epochs": 10,
        "mmat_short_epochs": 4,
        "mmat_repeats": 3,
        "ann_table_words": None,
        "ann_text_rows": None,  # every text of the four events
        "ann_cached_repeats": 3,
        "art_rows": 256,
        "art_repeats": 5,
        "throughput_rows": 1000,
        "throughput_repeats": 5,
        "memory_rows": None,  # all rows of the four events (8,425)
        "memory_image_size": 64,
        "memory_epochs": 1,
        "decode_rows": None,  # all 1,589 California files
        "decode_repeats": 3,
        "decode_accuracy_seeds": 3,
        "decode_accuracy_epochs": 50,
        "encoder_sizes": (128, 224),
        "encoder_rows": 256,
        "encoder_repeats": 3,
        "encoder_fit_epochs": 10,
        "encoder_fit_repeats": 3,
        "signing_rows": None,  # every California row (demo data: 1,589 tweets)
        "signing_epochs": 5,
        "signing_repeats": 21,
        "robust_rows": None,  # every Mexico earthquake row
        "robust_epochs": 5,
        "robust_repeats": 3,
        "robust_predict_rows": 500,
    },
    "smoke": {
        "image_size": 32,
        "fit_rows": 96,
        "fit_epochs": 1,
        "fgsm_rows": 96,
        "fgsm_repeats": 2,
        "mmat_rows": 64,
        "mmat_epochs": 1,
        "mmat_short_epochs": 1,
        "mmat_repeats": 1,
        "ann_table_words": 20_000,
        "ann_text_rows": 256,
        "ann_cached_repeats": 2,
        "art_rows": 64,
        "art_repeats": 2,
        "throughput_rows": 128,
        "throughput_repeats": 2,
        "memory_rows": 128,
        "memory_image_size": 32,
        "memory_epochs": 1,
        "decode_rows": 48,
        "decode_repeats": 1,
        "decode_accuracy_seeds": 1,
        "decode_accuracy_epochs": 1,
        "encoder_sizes": (32,),
        "encoder_rows": 32,
        "encoder_repeats": 1,
        "encoder_fit_epochs": 1,
        "encoder_fit_repeats": 1,
        "signing_rows": 64,
        "signing_epochs": 1,
        "signing_repeats": 3,
        "robust_rows": 120,
        "robust_epochs": 1,
        "robust_repeats": 1,
        "robust_predict_rows": 20,
    },
}

_DEFAULT_DATA = Path(os.environ.get("SKMMAT_CRISISMMD") or REPO.parent / "shared/data/crisismmd")


#: the figures by module, in the order they run (figure numbers in brackets): fgsm (1),
#: mmat (2), candidates (3), art (4), throughput (5), decoding (7), certify (8), pretrained (9),
#: signing (10), robust_text (11), memory (6)
FIGURE_GROUPS = (
    "fgsm",
    "mmat",
    "candidates",
    "art",
    "throughput",
    "decoding",
    "certify",
    "pretrained",
    "signing",
    "robust_text",
    "memory",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the report as Markdown here")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (< 1 minute)")
    parser.add_argument(
        "--data",
        type=Path,
        default=_DEFAULT_DATA,
        help="CrisisMMD v2.0 root holding annotations/ (default: $SKMMAT_CRISISMMD or "
        "<repo>/../shared/data/crisismmd); without it the demo texts are used",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch intra-op threads in every process (default 1, robust to other jobs on "
        "the cores; 0 keeps torch's own default)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=FIGURE_GROUPS,
        help="run these figures only (default: all); e.g. --only mmat certify",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-in", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


WORKERS = {
    "candidates": candidates.worker_candidates,
    "memory": memory.worker_memory,
    "memory_mmat": memory.worker_memory,
}


def worker_main(args):
    params = json.loads(args.worker_in.read_text())
    if params.get("threads"):
        torch.set_num_threads(params["threads"])
    result = WORKERS[args.worker](params)
    args.worker_out.write_text(json.dumps(result))


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    started = time.perf_counter()
    cfg = dict(SIZES["smoke" if args.smoke else "default"])
    # One torch thread by default: with two OpenMP threads on cores that other jobs
    # keep busy, every parallel region waits for a descheduled thread, which slows
    # many small operations (training) far more than few big ones (inference) and
    # makes the ratios depend on the load. --threads 0 keeps torch's own default.
    threads = 1 if args.threads is None else args.threads
    if threads:
        torch.set_num_threads(threads)
    data = str(args.data) if (args.data / "annotations").is_dir() else None
    meta = machine_description()
    meta["command"] = "python " + " ".join(
        [os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:])
    )
    meta["smoke"] = args.smoke
    meta["only"] = args.only
    tmp = tempfile.mkdtemp(prefix="skmmat-speed-")
    cache = Path(tmp) / "cache"
    cache.mkdir()
    # every process of this run uses a fresh, private cache: the cold graph build is cold
    os.environ["SKMMAT_CACHE_DIR"] = str(cache)
    details = {}
    figures = []
    try:
        cand_params = {
            "data": data,
            "table_words": cfg["ann_table_words"],
            "text_rows": cfg["ann_text_rows"],
            "n_candidates": N_CANDIDATES,
            "cached_repeats": cfg["ann_cached_repeats"],
            "cache_dir": str(cache),
            "threads": threads,
        }

        def memory_params(kind):
            return {
                "kind": kind,
                "data": data,
                "rows": cfg["memory_rows"],
                "image_size": cfg["memory_image_size"],
                "epochs": cfg["memory_epochs"],
                "cache_dir": str(cache),
                "threads": threads,
            }

        wanted = set(args.only or FIGURE_GROUPS)
        handles = {}
        if args.smoke:
            # tiny mode: the child processes overlap the in-process figures
            if "candidates" in wanted:
                handles["candidates"] = spawn_worker("candidates", cand_params, tmp)
            if "memory" in wanted:
                handles["mmn"] = spawn_worker("memory", memory_params("mmn"), tmp)
                handles["mmat"] = spawn_worker("memory_mmat", memory_params("mmat"), tmp)
        elif "candidates" in wanted:
            log("3. candidate sets (child process; cold graph build, exact search)")
            handles["candidates"] = run_worker("candidates", cand_params, tmp)

        def collect(key):
            return collect_worker(handles[key]) if args.smoke else handles[key]

        fitted = None
        if wanted & {"fgsm", "art", "certify"}:
            log("fitting the MMN and the Visual-CNN used by figures 1, 4 and 8")
            load_vectors()
            X_fit, y_fit = demo_frame(cfg["fit_rows"], cfg["image_size"], seed=1)
            fitted = {
                "mmn": mmn(cfg["fit_epochs"]).fit(X_fit, y_fit),
                "visual": mmn(cfg["fit_epochs"], modalities=("image",)).fit(
                    X_fit[["image"]], y_fit
                ),
            }
        if "fgsm" in wanted:
            log("1. FGSM vs loss_gradient")
            figures += fgsm.bench_fgsm(cfg, fitted, details)
        if "mmat" in wanted:
            log("2. MMAT fit vs MMN fit")
            figures += mmat.bench_mmat(cfg, details)
        if "candidates" in wanted:
            figures += candidates.bench_candidates(collect("candidates"), details)
        if "art" in wanted:
            log("4. FGSMPerturber vs ART")
            figures += art.bench_art(cfg, fitted, details)
        if "throughput" in wanted:
            log("5. raw rows to labels")
            figures += throughput.bench_throughput(cfg, details)
        if "decoding" in wanted:
            log("7. real JPEG files")
            figures += decoding.bench_decoding(cfg, data, details)
        if "certify" in wanted:
            log("8. certification")
            figures += certify.bench_certify(cfg, fitted, details)
        if "pretrained" in wanted:
            log("9. pretrained image encoder")
            figures += pretrained.bench_pretrained(cfg, data, details)
        if "signing" in wanted:
            log("10. signed model files")
            figures += signing.bench_signing(cfg, data, details)
        if "robust_text" in wanted:
            log("11. robust text training and smoothed prediction")
            figures += robust_text.bench_robust_text(cfg, data, details)
        fitted = None
        gc.collect()
        if "memory" in wanted:
            if not args.smoke:
                log("6. peak memory: MMN fit (child process)")
                handles["mmn"] = run_worker("memory", memory_params("mmn"), tmp)
                log("6. peak memory: MMAT fit (child process)")
                handles["mmat"] = run_worker("memory", memory_params("mmat"), tmp)
            figures += memory.bench_memory(collect("mmn"), collect("mmat"), details)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    order = [
        "1. FGSM vs one gradient pass",
        "2. MMAT fit vs MMN fit",
        "3. Candidate sets of the CrisisMMD vocabulary",
        "4. FGSMPerturber vs ART FastGradientMethod",
        "5. Raw rows to labels",
        "6. Peak memory of MMAT fit",
        decoding.SECTION,
        certify.SECTION,
        pretrained.SECTION,
        signing.SECTION,
        robust_text.SECTION,
    ]
    figures.sort(key=lambda f: order.index(f["section"]))
    meta["load_average_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    meta["wall_s"] = time.perf_counter() - started
    print()
    report.print_table(figures)
    print(f"\n{meta['wall_s']:.0f} s in all")
    payload = {"meta": meta, "sizes": cfg, "figures": figures, "details": details}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, default=_json_default) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.markdown_report(meta, cfg, figures, details))
    return 0


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


if __name__ == "__main__":
    sys.exit(main())
