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
   ``max_epochs`` and data (the floor is about 3: fit, perturb, refit on 2n).
3. Candidate sets (``n_candidates=10``) of the whole CrisisMMD vocabulary
   against the 400,000-word GloVe table: cold approximate search (pynndescent
   graph built into an empty cache, numba compilation included), cached
   approximate search (graph read back from disk), exact search, and the
   recall@10 of the approximate candidates against the exact ones.
4. ``FGSMPerturber`` against the adversarial-robustness-toolbox (ART)
   ``FastGradientMethod`` on the same torch module and batch: output
   difference and time ratio (skipped when ART is not installed:
   ``pip install adversarial-robustness-toolbox``).
5. Throughput of raw rows (image arrays + text) to labels through a fitted
   ``Pipeline(ImageResizer, GloveSequencer, MultiModalCNNClassifier)``.
6. Peak resident memory of an MMAT fit and of a plain MMN fit on all 8,425
   CrisisMMD rows (real texts, synthetic 64x64 images), each in its own child
   process, expressed in copies of the image tensor.

Every time is the median of repeated runs; ratios are taken between runs made
side by side (alternating order) in the same process, because the machine's
cores are shared and absolute times drift.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Benchmark the skmmat next to this script, installed or not.
if (REPO / "skmmat" / "__init__.py").is_file() and str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import skmmat  # noqa: E402
from skmmat import (  # noqa: E402
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    embeddings,
    load_crisismmd,
    make_crisis_tweets,
)
from skmmat.preprocessing import tokenize_tweet  # noqa: E402

GB = 1e9
N_CANDIDATES = 10
EPS = 0.1
ART_BATCH = 32  # ART's FGM batch size: the rows skmmat's loss_gradient runs per pass

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
    },
    "smoke": {
        "image_size": 32,
        "fit_rows": 96,
        "fit_epochs": 1,
        "fgsm_rows": 96,
        "fgsm_repeats": 2,
        "mmat_rows": 64,
        "mmat_epochs": 1,
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
    },
}

_DEFAULT_DATA = Path(os.environ.get("SKMMAT_CRISISMMD") or REPO.parent / "shared/data/crisismmd")


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
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-in", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def log(message):
    print(f"[speed {time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(fn, cpu=None):
    """Wall time of ``fn()`` and its result; appends the process CPU time to ``cpu``."""
    gc.collect()
    cpu_start = time.process_time()
    start = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    return wall, out


def paired_times(fn_a, fn_b, repeats):
    """Run ``fn_a`` and ``fn_b`` side by side ``repeats`` times, alternating the order.

    Returns the wall and CPU times of each and the medians of the per-pair
    ratios a / b (``ratio`` from wall times, ``cpu_ratio`` from CPU times).
    """
    wall = {"a": [], "b": []}
    cpu = {"a": [], "b": []}
    fns = {"a": fn_a, "b": fn_b}
    for i in range(repeats):
        for key in ("a", "b") if i % 2 == 0 else ("b", "a"):
            wall[key].append(timed(fns[key], cpu[key])[0])
    return {
        "a_s": wall["a"],
        "b_s": wall["b"],
        "a_cpu_s": cpu["a"],
        "b_cpu_s": cpu["b"],
        "ratio": statistics.median(a / b for a, b in zip(wall["a"], wall["b"])),
        "cpu_ratio": statistics.median(a / b for a, b in zip(cpu["a"], cpu["b"])),
    }


def figure(name, value, unit, target=None, note="", skipped=None, section=""):
    """One reported figure; ``target`` is ``("<=", x)`` / ``(">=", x)`` or None."""
    met = None
    if skipped is None and value is not None and target is not None:
        op, bound = target
        met = bool(value <= bound) if op == "<=" else bool(value >= bound)
    return {
        "section": section,
        "name": name,
        "value": None if skipped is not None else (None if value is None else float(value)),
        "unit": unit,
        "target": None if target is None else f"{target[0]} {target[1]}",
        "met": met,
        "note": note,
        "skipped": skipped,
    }


def skipped_figures(names, section, reason):
    return [figure(name, None, unit, section=section, skipped=reason) for name, unit in names]


def demo_frame(n_rows, image_size, seed):
    """Demo tweets preprocessed like the paper (64x64 images, 15 GloVe words)."""
    df = make_crisis_tweets(n_rows, random_state=seed)
    prep = [ImageResizer(size=(image_size, image_size)), GloveSequencer()]
    X = df[["image", "text"]]
    for step in prep:
        X = step.fit_transform(X)
    return X.reset_index(drop=True), df["label"].to_numpy()


def mmn(epochs, **params):
    return MultiModalCNNClassifier(max_epochs=epochs, patience=None, random_state=0, **params)


def crisismmd_texts(root, n_rows=None):
    """All texts and labels of the CrisisMMD events under ``root`` (or demo texts)."""
    if root is not None and (Path(root) / "annotations").is_dir():
        df = load_crisismmd(root)
        source = f"CrisisMMD annotations ({df['event'].nunique()} events, {len(df)} rows)"
    else:
        df = make_crisis_tweets(8425, random_state=0)
        source = f"demo texts (make_crisis_tweets; no CrisisMMD annotations at {root})"
    if n_rows is not None:
        df = df.iloc[:n_rows]
    return df["text"].tolist(), df["label"].to_numpy(), source


def read_status(field):
    """A ``/proc/self/status`` field in bytes (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def ru_maxrss_bytes():
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


# --------------------------------------------------------------------------
# child processes
# --------------------------------------------------------------------------


def spawn_worker(name, params, tmp):
    """Start ``speed.py --worker name`` in a fresh process; returns a handle."""
    path_in = Path(tmp) / f"{name}.in.json"
    path_out = Path(tmp) / f"{name}.out.json"
    path_log = Path(tmp) / f"{name}.log"
    path_in.write_text(json.dumps(params))
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--worker-in",
        str(path_in),
        "--worker-out",
        str(path_out),
    ]
    log_fh = open(path_log, "w")  # noqa: SIM115 - closed by collect_worker
    proc = subprocess.Popen(cmd, stdout=log_fh, stderr=subprocess.STDOUT, env=os.environ.copy())
    return {"name": name, "proc": proc, "out": path_out, "log": path_log, "log_fh": log_fh}


def collect_worker(handle):
    """Wait for a worker; its result dict, or ``{"error": ...}``."""
    rc = handle["proc"].wait()
    handle["log_fh"].close()
    if rc == 0 and handle["out"].is_file():
        return json.loads(handle["out"].read_text())
    tail = handle["log"].read_text()[-2000:]
    return {"error": f"worker {handle['name']} exited with status {rc}: {tail.strip()[-600:]}"}


def run_worker(name, params, tmp):
    return collect_worker(spawn_worker(name, params, tmp))


def worker_main(args):
    params = json.loads(args.worker_in.read_text())
    if params.get("threads"):
        torch.set_num_threads(params["threads"])
    result = WORKERS[args.worker](params)
    args.worker_out.write_text(json.dumps(result))


# -- figure 3 worker: candidate sets -----------------------------------------


def worker_candidates(p):
    from pynndescent import NNDescent

    t_load, table = timed(embeddings.load_vectors)
    if p["table_words"]:
        k = int(p["table_words"])
        table = embeddings.WordVectors(table.words[:k], table.vectors[:k])
    texts, _, source = crisismmd_texts(p["data"], p["text_rows"])
    vocab = sorted({w for text in texts for w in tokenize_tweet(text)})
    rows = np.unique(table.lookup(vocab))
    rows = rows[rows >= 0]
    k = p["n_candidates"]
    t_fingerprint, _ = timed(lambda: table.fingerprint)

    peaks = {}

    def peak_of(name, fn):
        gc.collect()
        before = read_status("VmRSS")
        if reset_peak_rss():
            out = fn()
            peaks[name] = (read_status("VmHWM") - before) / GB
            return out
        return fn()

    # exact search first: a fresh process, so no memoised neighbours exist yet
    t_exact, (exact_idx, exact_dist) = timed(
        lambda: peak_of(
            "exact", lambda: embeddings.nearest_neighbors(table, rows, k, algorithm="exact")
        )
    )
    # numba compiles pynndescent on its first use in a process; time it apart
    rng = np.random.default_rng(0)
    tiny = rng.normal(size=(2000, table.dim)).astype(np.float32)
    t_jit, _ = timed(
        lambda: (
            NNDescent(
                tiny, n_neighbors=16, random_state=0, low_memory=True, compressed=True
            ).neighbor_graph
        )
    )
    cache = p["cache_dir"]
    t_build, (ann_idx, _) = timed(
        lambda: peak_of(
            "ann_build",
            lambda: embeddings.nearest_neighbors(table, rows, k, algorithm="ann", cache_dir=cache),
        )
    )
    cached = []
    for _ in range(p["cached_repeats"]):
        embeddings._GRAPH_CACHE.clear()  # forget the in-memory graph: read it from disk
        cached.append(
            timed(
                lambda: embeddings.nearest_neighbors(
                    table, rows, k, algorithm="ann", cache_dir=cache
                )
            )[0]
        )
    hits = [len(set(a) & set(b)) for a, b in zip(ann_idx.tolist(), exact_idx.tolist())]
    recall = float(np.mean(hits)) / k
    # ties: an approximate neighbour as close as the k-th exact one is as good
    ann_d = np.linalg.norm(table.vectors[ann_idx] - table.vectors[rows][:, None, :], axis=2)
    tie_recall = float(np.mean(ann_d <= exact_dist[:, -1:] * (1 + 1e-5) + 1e-6))
    return {
        "source": source,
        "table_words": len(table),
        "vocabulary": len(vocab),
        "known_words": int(rows.size),
        "load_s": t_load,
        "fingerprint_s": t_fingerprint,
        "exact_s": t_exact,
        "jit_s": t_jit,
        "build_s": t_build,
        "cold_s": t_jit + t_build,
        "cached_s": statistics.median(cached),
        "cached_all_s": cached,
        "recall": recall,
        "tie_recall": tie_recall,
        "words_below_full_recall": int(sum(h < k for h in hits)),
        "peak_rss_above_start_gb": peaks,
    }


# -- figure 6 worker: peak memory --------------------------------------------


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

        self.wrap(AdversarialAugmentationWrapper, "fit", "mmat.fit")
        self.wrap(MultiModalCNNClassifier, "fit", "fit")
        self.wrap(MultiModalCNNClassifier, "_check_inputs", "stack inputs")
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


WORKERS = {"candidates": worker_candidates, "memory": worker_memory, "memory_mmat": worker_memory}


# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------


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
            note="input-gradient passes of the same module over the same rows in batches of "
            "256 vs 32 (loss_gradient's and the training batch); median of "
            f"{cfg['fgsm_repeats']} paired runs (CPU-time ratio {batch['cpu_ratio']:.2f})",
            section=section,
        ),
    ]


def _batch_probe(clf, X, y, repeats, batches=(256, 32)):
    """Time the same input-gradient computation in big and small batches."""
    import torch.nn.functional as F

    module = clf.net_.module_
    inputs = {
        m: torch.as_tensor(np.stack(X[m].to_numpy()), dtype=torch.float32)
        for m in clf.input_shapes_
    }
    if "image" in inputs:
        inputs["image"] = inputs["image"].permute(0, 3, 1, 2).contiguous()
    target = torch.as_tensor(np.searchsorted(clf.classes_, y))
    n = len(target)

    def gradient(size):
        was_training = module.training
        module.eval()
        try:
            for start in range(0, n, size):
                batch = {
                    m: t[start : start + size].clone().requires_grad_(True)
                    for m, t in inputs.items()
                }
                loss = F.cross_entropy(
                    module(**batch), target[start : start + size], reduction="sum"
                )
                torch.autograd.grad(loss, list(batch.values()))
        finally:
            module.train(was_training)

    big, small = batches
    runs = paired_times(lambda: gradient(big), lambda: gradient(small), repeats)
    return {
        "batches": list(batches),
        "rows": n,
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


def bench_mmat(cfg, details):
    """Figure 2: MMAT fit over MMN fit at equal epochs."""
    section = "2. MMAT fit vs MMN fit"
    X, y = demo_frame(cfg["mmat_rows"], cfg["image_size"], seed=3)
    epochs = cfg["mmat_epochs"]
    # warm the per-process resources every fit shares (the table is already
    # loaded): the candidate sets of this vocabulary, as the perturber asks them
    table = embeddings.load_vectors()
    rows = np.unique(table.lookup([w for t in X["tokens"] for w in t]))
    embeddings.nearest_neighbors(table, rows[rows >= 0], N_CANDIDATES)
    wrappers, models = [], []

    def fit_mmat():
        wrappers.append(AdversarialAugmentationWrapper(mmn(epochs), random_state=0).fit(X, y))

    def fit_mmn():
        models.append(mmn(epochs).fit(X, y))

    runs = paired_times(fit_mmat, fit_mmn, cfg["mmat_repeats"])
    rounds = [w.rounds_[0]["seconds"] for w in wrappers]
    # the passes MMAT adds to "fit, refit on 2n", side by side with an MMN fit
    clf = models[-1]
    extra = {"loss_gradient": [], "predict": [], "mmn_fit": []}
    for _ in range(cfg["mmat_repeats"]):
        extra["mmn_fit"].append(timed(fit_mmn)[0])
        extra["loss_gradient"].append(timed(lambda: clf.loss_gradient(X, y))[0])
        extra["predict"].append(timed(lambda: clf.predict(X))[0])
    share = {
        k: statistics.median(a / b for a, b in zip(extra[k], extra["mmn_fit"]))
        for k in ("loss_gradient", "predict")
    }
    details["mmat"] = {
        "rows": len(X),
        "epochs": epochs,
        "mmat_s": runs["a_s"],
        "mmn_s": runs["b_s"],
        "cpu_ratio": runs["cpu_ratio"],
        "mmat_round_s": rounds,  # craft + attack accuracy + concat + refit on 2n rows
        "mmat_initial_fit_s": [t - r for t, r in zip(runs["a_s"], rounds)],
        "pass_over_mmn_fit": share,
    }
    return [
        figure(
            "mmat_fit_over_mmn_fit",
            runs["ratio"],
            "ratio",
            ("<=", 3.2),
            f"{len(X)} demo rows, {cfg['image_size']}x{cfg['image_size']} images, "
            f"max_epochs={epochs}, patience=None; median of {cfg['mmat_repeats']} paired runs "
            f"(CPU-time ratio {runs['cpu_ratio']:.2f}); a loss_gradient pass costs "
            f"{share['loss_gradient']:.2f} and a predict pass {share['predict']:.2f} MMN fits",
            section=section,
        )
    ]


def bench_candidates(result, details):
    """Figure 3 from the worker's result."""
    section = "3. Candidate sets of the CrisisMMD vocabulary"
    names = [
        ("ann_cold_s", "s"),
        ("ann_cached_s", "s"),
        ("exact_s", "s"),
        ("ann_recall_at_10", "fraction"),
        ("exact_over_ann_cached", "ratio"),
        ("ann_cold_over_exact", "ratio"),
    ]
    if "error" in result:
        return skipped_figures(names, section, result["error"])
    details["candidates"] = result
    words = (
        f"{result['known_words']} words (of {result['vocabulary']} distinct tokens) vs a "
        f"{result['table_words']}-word table"
    )
    return [
        figure(
            "ann_cold_s",
            result["cold_s"],
            "s",
            note=f"{words}; fresh process and empty cache: numba compilation "
            f"{result['jit_s']:.1f} s + graph build and search {result['build_s']:.1f} s",
            section=section,
        ),
        figure(
            "ann_cached_s",
            result["cached_s"],
            "s",
            note="graph read back from the on-disk cache (in-memory cache cleared); median of "
            f"{len(result['cached_all_s'])}",
            section=section,
        ),
        figure(
            "exact_s", result["exact_s"], "s", note="brute force, fresh process", section=section
        ),
        figure(
            "ann_recall_at_10",
            result["recall"],
            "fraction",
            (">=", 0.95),
            f"ANN candidates found by exact search; {result['tie_recall']:.4f} counting "
            f"neighbours tied with the 10th exact distance",
            section=section,
        ),
        figure(
            "exact_over_ann_cached",
            result["exact_s"] / result["cached_s"],
            "ratio",
            note="speed-up of the cached graph over exact search",
            section=section,
        ),
        figure(
            "ann_cold_over_exact",
            result["cold_s"] / result["exact_s"],
            "ratio",
            note="first use in a fresh process and cache",
            section=section,
        ),
    ]


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
        outputs["skmmat"] = FGSMPerturber(clf, eps=EPS).fit_transform(X, y)

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


def bench_throughput(cfg, details):
    """Figure 5: raw rows to labels through the fitted pipeline."""
    section = "5. Raw rows to labels"
    from sklearn.pipeline import make_pipeline

    size = cfg["image_size"]
    train = make_crisis_tweets(cfg["fit_rows"], random_state=0)
    pipe = make_pipeline(
        ImageResizer(size=(size, size)), GloveSequencer(), mmn(cfg["fit_epochs"])
    ).fit(train[["image", "text"]], train["label"])
    raw = make_crisis_tweets(cfg["throughput_rows"], random_state=5)[["image", "text"]]
    times = [timed(lambda: pipe.predict(raw))[0] for _ in range(cfg["throughput_repeats"])]
    # share of each stage (one more run, step by step)
    stages = {}
    Xt = raw
    for name, step in pipe.steps[:-1]:
        stages[name], Xt = timed(lambda step=step, Xt=Xt: step.transform(Xt))
    stages[pipe.steps[-1][0]], _ = timed(lambda: pipe.steps[-1][1].predict(Xt))
    n = len(raw)
    details["throughput"] = {"rows": n, "predict_s": times, "stage_s": stages}
    return [
        figure(
            "raw_to_label_throughput",
            n / statistics.median(times),
            "tweets/s",
            note=f"{n} demo rows (uint8 images of 72-96 px + text) through "
            f"Pipeline(ImageResizer({size}x{size}), GloveSequencer, MMN).predict; median of "
            f"{len(times)}",
            section=section,
        )
    ]


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
            ("<=", 1.0),
            f"({how}) / image tensor; issue 7: at most one extra copy{top_phase(mmat_res)[0]}",
            section=section,
        ),
        figure(
            "mmat_extra_copies_outside_candidates",
            (outside_peak - mmat_res["rss_before_fit"]) / img,
            "copies",
            ("<=", 1.0),
            "the same, leaving out the phases inside WordSubstitutionPerturber.candidates "
            "(neighbour search of the vocabulary)",
            section=section,
        ),
    ]


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------


def machine_description():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "pandas", "sklearn", "skorch", "pynndescent", "numba", "art"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - optional or broken packages
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain", "skmmat"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "skmmat": skmmat.__version__,
        "skmmat_commit": commit,
        "skmmat_dirty": dirty,
        "versions": versions,
        "load_average_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def format_value(fig):
    if fig["skipped"] is not None:
        return "skipped"
    v = fig["value"]
    if v is None or not math.isfinite(v):
        return str(v)
    if fig["unit"] == "s":
        return f"{v:.3g}" if v < 10 else f"{v:.1f}"
    if fig["unit"] in ("rows/s", "tweets/s"):
        return f"{v:,.0f}"
    if fig["unit"] == "pixel value":
        return f"{v:.3g}"
    if fig["unit"] == "fraction":
        return f"{v:.4f}"
    return f"{v:.2f}"


def met_text(fig):
    return {True: "yes", False: "NO", None: ""}[fig["met"]]


def print_table(figures):
    rows = [("figure", "value", "unit", "target", "met")]
    rows += [
        (f["name"], format_value(f), f["unit"], f["target"] or "", met_text(f)) for f in figures
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for f in figures:
        if f["skipped"] is not None:
            print(f"note: {f['name']} skipped: {f['skipped']}")


def _gb(b):
    return f"{b / GB:.2f}"


def memory_phase_rows(res):
    """Inclusive peak and time of each phase of a traced fit."""
    base = res["rss_before_fit"]
    img = res["image_tensor_bytes"]
    phases = res["phases"]
    out = []
    for rec in phases:
        path = rec["path"]
        inclusive = max(
            r["peak"] for r in phases if r["path"] == path or r["path"].startswith(path + "/")
        )
        retained = rec.get("rss_exit")
        out.append(
            (
                path,
                rec["seconds"],
                (inclusive - base) / img,
                None if retained is None else (retained - base) / img,
            )
        )
    return out


def markdown_report(meta, cfg, figures, details):
    dirty = ", uncommitted changes in skmmat/" if meta["skmmat_dirty"] else ""
    lines = [
        "# skmmat speed and memory benchmark",
        "",
        f"Measured {meta['date']} with `{meta['command']}` "
        f"({'smoke sizes' if meta['smoke'] else 'default sizes'}; {meta['wall_s'] / 60:.1f} min).",
        "",
        "Machine: "
        f"{meta['cores']} cores ({meta['cpu']}), shared with other jobs (load average "
        f"{_fmt_load(meta['load_average_start'])} at start, {_fmt_load(meta['load_average_end'])} "
        f"at end); {meta['platform']}; Python {meta['python']}; torch {meta['torch']} with "
        f"{meta['torch_threads']} intra-op threads; skmmat {meta['skmmat']} "
        f"(commit {meta['skmmat_commit']}{dirty}); "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
        + ".",
        "",
        "Timings are medians of repeated runs; ratios are medians of per-pair ratios of runs "
        "made side by side, alternating the order, so that load from other jobs cancels out.",
        "",
        "| figure | value | unit | target | met | note |",
        "|---|---:|---|---|---|---|",
    ]
    for f in figures:
        note = f["note"] if f["skipped"] is None else f"skipped: {f['skipped']}"
        lines.append(
            f"| {f['name']} | {format_value(f)} | {f['unit']} | {f['target'] or ''} | "
            f"{met_text(f)} | {note.replace('|', '/')} |"
        )
    if "fgsm" in details:
        d = details["fgsm"]
        lines += [
            "",
            "## 1. FGSM vs one gradient pass",
            "",
            f"{d['rows']} rows. Median FGSMPerturber.fit_transform "
            f"{statistics.median(d['fgsm_s']):.2f} s, loss_gradient "
            f"{statistics.median(d['loss_gradient_s']):.2f} s. Work FGSM adds to the gradient "
            "(one run each): "
            + ", ".join(f"{k} {v:.3f} s" for k, v in d["breakdown_s"].items())
            + ".",
        ]
        b = d["batch_probe"]
        lines += [
            "",
            f"Batch size of the gradient pass ({b['rows']} rows, same module and inputs, "
            f"paired runs): batches of {b['batches'][0]} take "
            + ", ".join(f"{t:.2f}" for t in b["big_s"])
            + f" s, batches of {b['batches'][1]} take "
            + ", ".join(f"{t:.2f}" for t in b["small_s"])
            + f" s: {b['ratio']:.2f}x the time (CPU time {b['cpu_ratio']:.2f}x).",
        ]
    if "mmat" in details:
        d = details["mmat"]
        lines += [
            "",
            "## 2. MMAT fit vs MMN fit",
            "",
            f"{d['rows']} rows, max_epochs={d['epochs']}. MMN fits: "
            + ", ".join(f"{t:.1f}" for t in d["mmn_s"])
            + " s; MMAT fits: "
            + ", ".join(f"{t:.1f}" for t in d["mmat_s"])
            + " s, of which the initial fit "
            + ", ".join(f"{t:.1f}" for t in d["mmat_initial_fit_s"])
            + " s and the round (crafting, attack accuracy, refit on 2n rows) "
            + ", ".join(f"{t:.1f}" for t in d["mmat_round_s"])
            + " s. Measured side by side with MMN fits, one "
            f"`loss_gradient` pass over the {d['rows']} rows costs "
            f"{d['pass_over_mmn_fit']['loss_gradient']:.2f} MMN fits and one `predict` pass "
            f"(the round's attack accuracy) {d['pass_over_mmn_fit']['predict']:.2f}, so the "
            "expected ratio is about 3 + those two.",
        ]
    if "candidates" in details:
        d = details["candidates"]
        lines += [
            "",
            "## 3. Candidate sets",
            "",
            f"Vocabulary: {d['source']}, tokenized with `tokenize_tweet` (no truncation): "
            f"{d['vocabulary']} distinct tokens, {d['known_words']} in the {d['table_words']}-word "
            f"table. Table load {d['load_s']:.2f} s, fingerprint {d['fingerprint_s']:.2f} s (not "
            f"in the figures). Cold = numba compilation of pynndescent ({d['jit_s']:.1f} s, once "
            f"per process) + graph build and lookup ({d['build_s']:.1f} s). Cached runs: "
            + ", ".join(f"{t:.2f}" for t in d["cached_all_s"])
            + f" s. {d['words_below_full_recall']} words miss at least one exact neighbour."
            + (
                " Peak RSS above the RSS before the call: "
                + ", ".join(f"{k} {v:.2f} GB" for k, v in d["peak_rss_above_start_gb"].items())
                + "."
                if d.get("peak_rss_above_start_gb")
                else ""
            ),
        ]
    if "art" in details:
        d = details["art"]
        lines += [
            "",
            "## 4. FGSMPerturber vs ART",
            "",
            f"ART {d['art_version']} `FastGradientMethod(norm=inf, eps={EPS}, "
            f"batch_size={d['art_batch_size']})` on `PyTorchClassifier` around the fitted "
            "Visual-CNN's module (CrossEntropyLoss, clip_values (0, 1)), channels-first batch, "
            f"one-hot true labels; {d['rows']} rows. Median skmmat "
            f"{statistics.median(d['skmmat_s']):.3f} s, ART {statistics.median(d['art_s']):.3f} s.",
            "",
            f"Differing values: {d['differing_values']} of {d['values']}; of these "
            f"{d['differing_where_skmmat_gradient_zero']} where skmmat's gradient is exactly 0, "
            f"{d['differing_where_art_gradient_zero']} where ART's is, "
            f"{d['differing_with_opposite_signs']} with opposite non-zero signs. Gradient values "
            f"exactly 0 in skmmat: {d['zero_gradient_values']}; sign mismatches between the two "
            f"gradients: {d['gradient_sign_mismatches']} (largest |gradient| among them "
            f"{d['max_abs_gradient_at_sign_mismatch']:.3g}).",
        ]
    if "throughput" in details:
        d = details["throughput"]
        total = sum(d["stage_s"].values())
        lines += [
            "",
            "## 5. Raw rows to labels",
            "",
            f"{d['rows']} rows; share of time per step: "
            + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in d["stage_s"].items())
            + ".",
        ]
    if "memory" in details:
        lines += ["", "## 6. Peak memory", ""]
        for kind in ("mmn", "mmat"):
            res = details["memory"][kind]
            lines += [
                f"**{kind.upper()} fit** ({res['rows']} rows, {res['source']}; "
                f"{res['fit_seconds']:.0f} s): RSS before fit {_gb(res['rss_before_fit'])} GB, "
                f"peak during fit {_gb(res['fit_peak'])} GB, image tensor "
                f"{_gb(res['image_tensor_bytes'])} GB, text tensor "
                f"{_gb(res['text_tensor_bytes'])} GB.",
                "",
            ]
            if res["phase_tracking"]:
                lines += [
                    "| phase | s | peak above pre-fit RSS (image copies) | "
                    "held at exit (image copies) |",
                    "|---|---:|---:|---:|",
                ]
                for path, secs, peak, held in memory_phase_rows(res):
                    held_s = "" if held is None else f"{held:.2f}"
                    lines.append(f"| `{path}` | {secs:.1f} | {peak:.2f} | {held_s} |")
                lines.append("")
    lines += [
        "## Sizes",
        "",
        "```",
        json.dumps(cfg, indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)


def _fmt_load(load):
    return "n/a" if not load else "/".join(f"{x:.1f}" for x in load)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


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

        if args.smoke:
            # tiny mode: the child processes overlap the in-process figures
            handles = [
                spawn_worker("candidates", cand_params, tmp),
                spawn_worker("memory", memory_params("mmn"), tmp),
                spawn_worker("memory_mmat", memory_params("mmat"), tmp),
            ]
        else:
            log("3. candidate sets (child process; cold graph build, exact search)")
            cand = run_worker("candidates", cand_params, tmp)

        log("fitting the MMN and the Visual-CNN used by figures 1 and 4")
        embeddings.load_vectors()
        X_fit, y_fit = demo_frame(cfg["fit_rows"], cfg["image_size"], seed=1)
        fitted = {
            "mmn": mmn(cfg["fit_epochs"]).fit(X_fit, y_fit),
            "visual": mmn(cfg["fit_epochs"], modalities=("image",)).fit(X_fit[["image"]], y_fit),
        }
        log("1. FGSM vs loss_gradient")
        figures += bench_fgsm(cfg, fitted, details)
        log("2. MMAT fit vs MMN fit")
        figures += bench_mmat(cfg, details)
        if args.smoke:
            cand = collect_worker(handles[0])
            mmn_mem = collect_worker(handles[1])
        figures += bench_candidates(cand, details)
        log("4. FGSMPerturber vs ART")
        figures += bench_art(cfg, fitted, details)
        log("5. raw rows to labels")
        figures += bench_throughput(cfg, details)
        del fitted, X_fit
        gc.collect()
        if not args.smoke:
            log("6. peak memory: MMN fit (child process)")
            mmn_mem = run_worker("memory", memory_params("mmn"), tmp)
            log("6. peak memory: MMAT fit (child process)")
            mmat_mem = run_worker("memory", memory_params("mmat"), tmp)
        else:
            mmat_mem = collect_worker(handles[2])
        figures += bench_memory(mmn_mem, mmat_mem, details)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    order = [
        "1. FGSM vs one gradient pass",
        "2. MMAT fit vs MMN fit",
        "3. Candidate sets of the CrisisMMD vocabulary",
        "4. FGSMPerturber vs ART FastGradientMethod",
        "5. Raw rows to labels",
        "6. Peak memory of MMAT fit",
    ]
    figures.sort(key=lambda f: order.index(f["section"]))
    meta["load_average_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    meta["wall_s"] = time.perf_counter() - started
    print()
    print_table(figures)
    print(f"\n{meta['wall_s']:.0f} s in all")
    payload = {"meta": meta, "sizes": cfg, "figures": figures, "details": details}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, default=_json_default) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown_report(meta, cfg, figures, details))
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
