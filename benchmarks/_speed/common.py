"""Helpers shared by the figures: timing, figure records, data, worker processes."""

from __future__ import annotations

import datetime
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

import skmmat
from skmmat import (
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    load_crisismmd,
    make_crisis_tweets,
)

from . import REPO

#: the runner: worker processes are ``speed.py --worker name``
SCRIPT = Path(__file__).resolve().parents[1] / "speed.py"

GB = 1e9
N_CANDIDATES = 10
EPS = 0.1


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
        str(SCRIPT),
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


# --------------------------------------------------------------------------
# machine
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
