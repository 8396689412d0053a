"""The printed table and the Markdown report of the figures."""

from __future__ import annotations

import json
import math
import statistics

from .common import EPS, GB


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
            f"Batch size of the gradient pass (`loss_gradient` with `eval_batch_size` "
            f"{b['batches'][0]} vs {b['batches'][1]}, {b['rows']} rows, same fitted MMN, "
            f"paired runs): batches of {b['batches'][0]} take "
            + ", ".join(f"{t:.2f}" for t in b["big_s"])
            + f" s, batches of {b['batches'][1]} take "
            + ", ".join(f"{t:.2f}" for t in b["small_s"])
            + f" s: {b['ratio']:.2f}x the time (CPU time {b['cpu_ratio']:.2f}x).",
        ]
    if "certify" in details:
        d = details["certify"]
        cert_lines = [
            "",
            "## 8. Certification",
            "",
            f"{d['rows']} rows. `certify`: "
            + ", ".join(f"{t:.2f}" for t in d["certify_s"])
            + " s; `predict_proba`: "
            + ", ".join(f"{t:.2f}" for t in d["predict_proba_s"])
            + f" s (CPU-time ratio {d['cpu_ratio']:.2f}).",
        ]
    else:
        cert_lines = []
    if "mmat" in details:
        lines += ["", "## 2. MMAT fit vs MMN fit"]
        for d in details["mmat"].values():
            trained = {"in_loop": "In-loop training", "ibp": "Certified (IBP) training"}
            if d.get("method") in trained:
                lines += [
                    "",
                    f"{trained[d['method']]}, {d['rows']} rows, max_epochs={d['epochs']}. "
                    "MMN fits: "
                    + ", ".join(f"{t:.1f}" for t in d["mmn_s"])
                    + f" s; {d['method'].replace('_', '-')} fits: "
                    + ", ".join(f"{t:.1f}" for t in d["mmat_s"])
                    + " s.",
                ]
                continue
            lines += [
                "",
                f"{d['rows']} rows, max_epochs={d['epochs']}. MMN fits: "
                + ", ".join(f"{t:.1f}" for t in d["mmn_s"])
                + " s; MMAT fits: "
                + ", ".join(f"{t:.1f}" for t in d["mmat_s"])
                + " s, of which the initial fit "
                + ", ".join(f"{t:.1f}" for t in d["mmat_initial_fit_s"])
                + " s and the round (crafting, refit on 2n rows) "
                + ", ".join(f"{t:.1f}" for t in d["mmat_round_s"])
                + " s. Measured side by side with MMN fits, one "
                f"`loss_gradient` pass over the {d['rows']} rows costs "
                f"{d['pass_over_mmn_fit']['loss_gradient']:.2f} MMN fits, so the expected "
                "ratio is about 3 + that; the round's attack accuracy "
                "(`attack_accuracy=True`, off by default) would add one `predict` pass, "
                f"{d['pass_over_mmn_fit']['predict']:.2f}.",
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
            f"in the figures). The default search ({d['default_algorithm']} for this table, "
            f"{d['threads']} torch threads): {d['exact_s']:.1f} s cold, "
            f"{d['exact_memo_s']:.3f} s again in the same process, and read back from the "
            "on-disk cache in "
            + ", ".join(f"{t:.3f}" for t in d["exact_cached_all_s"])
            + f" s. The approximate graph: cold = numba compilation of pynndescent "
            f"({d['jit_s']:.1f} s, once per process) + graph build and lookup "
            f"({d['build_s']:.1f} s); cached runs "
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
    if "decoding" in details:
        d = details["decoding"]
        lines += [
            "",
            "## 7. Real JPEG files",
            "",
            f"{d['files']} California wildfires files, {d['jpeg_files']} of them JPEG. "
            "ImageResizer(decode='reduced') vs Pillow's floor: "
            + ", ".join(f"{t:.2f}" for t in d["vs_floor"]["a_s"])
            + " s vs "
            + ", ".join(f"{t:.2f}" for t in d["vs_floor"]["b_s"])
            + " s; decode='full': "
            + ", ".join(f"{t:.2f}" for t in d["vs_full"]["a_s"])
            + " s. Pipeline predict on the files and texts: "
            + ", ".join(f"{t:.2f}" for t in d["predict_s"])
            + " s.",
        ]
    lines += [
        "## Sizes",
        "",
        "```",
        json.dumps(cfg, indent=1),
        "```",
        "",
    ]
    return "\n".join(lines + cert_lines)


def _fmt_load(load):
    return "n/a" if not load else "/".join(f"{x:.1f}" for x in load)
