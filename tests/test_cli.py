"""The skmmat command line, run as a user would."""

import os
import subprocess
import sys

import pytest

from skmmat.cli import main


def test_help_lists_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "skmmat", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("demo", "table1", "train", "predict"):
        assert command in out


def test_demo_prints_table_and_writes_report(tmp_path, capsys):
    status = main(
        [
            "demo",
            "--n-samples",
            "120",
            "--epochs",
            "2",
            "--image-size",
            "32",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    for label in ("Visual-CNN", "Visual-CNN_adv", "Text-CNN", "Text-CNN_adv", "MMN", "MMAT"):
        assert label in out
    assert "original" in out and "adversarial" in out
    report = (tmp_path / "report.md").read_text()
    assert "![Table I](table1.png)" in report
    png = (tmp_path / "table1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    # the case study: examples crafted against MMN, MMAT's answers beside MMN's
    assert "# Case study: adversarial examples" in report
    assert "crafted against MMN on 30 test tweets" in report
    assert "| MMN |" in report and "| MMAT |" in report
    if "![examples](examples.png)" in report:
        assert (tmp_path / "examples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "The attack flipped no test tweet" in report


@pytest.mark.parametrize(
    "argv, message",
    [
        (["table1", "--data", "/nonexistent/crisismmd"], "no such folder"),
        (["predict", "--model", "/nonexistent/model.safetensors", "x.tsv"], "no such file"),
        (["demo", "--n-samples", "0"], "--n-samples"),
        (["demo", "--epochs", "-1"], "--epochs"),
        (["demo", "--fine-tune", "2"], "need a pretrained --image-encoder"),
        (["demo", "--image-encoder", "efficientnet_lite0", "--fine-tune", "x"], "--fine-tune"),
    ],
)
def test_user_mistakes_give_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_arguments_are_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", ".", "--model", "not_a_model", "--out", "m"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("split", ["tweets", "rows"])
def test_table1_runs_text_models_when_images_are_absent(crisismmd_root, split, tmp_path, capsys):
    status = main(
        [
            "table1",
            "--data",
            str(crisismmd_root),
            "--events",
            "srilanka_floods",
            "--models",
            "text_cnn",
            "--epochs",
            "2",
            "--split",
            split,
            "--class-weight",
            "balanced",
            "--image-augmentation",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "Images absent" in out
    assert "srilanka_floods" in out and "Text-CNN" in out and "macro-F1" in out
    # the split the tests share with benchmarks/table1.py: 1,022 pairs, ~10 % for testing
    n_test = {"tweets": 102, "rows": 103}[split]
    assert f"{1022 - n_test} training and {n_test} test tweets (split by {split[:-1]})" in out
    report = (tmp_path / "report.md").read_text()
    assert "Text-CNN" in report and "Case study" not in report  # no MMN, no case study


def test_train_then_predict_round_trip(crisismmd_root, tmp_path, capsys):
    model = tmp_path / "text_cnn.safetensors"
    status = main(
        [
            "train",
            "--data",
            str(crisismmd_root),
            "--events",
            "srilanka_floods",
            "--model",
            "text_cnn",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            str(model),
        ]
    )
    assert status == 0 and model.is_file()
    assert (tmp_path / "text_cnn.safetensors.checkpoint").is_dir()  # resumable
    tweets = tmp_path / "tweets.tsv"
    tweets.write_text("text\nFlood waters destroyed homes in Colombo\nhappy birthday\n")
    capsys.readouterr()
    assert main(["predict", "--model", str(model), str(tweets)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["label", "proba_informative", "proba_not_informative"]
    assert len(lines) == 3  # one prediction per input row, none dropped
    for line in lines[1:]:
        label, p_inf, p_not = line.split("\t")
        assert label in {"informative", "not_informative"}
        assert abs(float(p_inf) + float(p_not) - 1.0) < 1e-5


def test_train_image_model_without_images_is_a_user_error(crisismmd_root, tmp_path, capsys):
    status = main(
        [
            "train",
            "--data",
            str(crisismmd_root),
            "--events",
            "srilanka_floods",
            "--model",
            "mmn",
            "--out",
            str(tmp_path / "m.safetensors"),
        ]
    )
    assert status == 2
    assert "needs the CrisisMMD images" in capsys.readouterr().err


def test_train_and_predict_with_the_pretrained_encoder(crisismmd_root, tmp_path, capsys):
    """Visual-CNN over EfficientNet-Lite0 on California's real images, then predict."""
    from skmmat import load_crisismmd

    df = load_crisismmd(crisismmd_root, events=["california_wildfires"])
    if not all(os.path.isfile(p) for p in df["image"].iloc[:3]):
        pytest.skip("the California wildfires images are absent")
    model = tmp_path / "visual.safetensors"
    argv = ["train", "--data", str(crisismmd_root), "--events", "california_wildfires"]
    argv += ["--model", "visual_cnn", "--image-encoder", "efficientnet_lite0", "--image-size"]
    argv += ["32", "--feature-cache", str(tmp_path / "features"), "--epochs", "2", "--quiet"]
    assert main([*argv, "--out", str(model)]) == 0
    # one file per distinct image: CrisisMMD holds a few images twice (retweets)
    assert 0.95 * len(df) < len(list((tmp_path / "features").rglob("*.npy"))) <= len(df)
    tweets = tmp_path / "tweets.tsv"
    tweets.write_text("image\n" + "\n".join(df["image"].iloc[:3]) + "\n")
    capsys.readouterr()
    assert main(["predict", "--model", str(model), str(tweets)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["label", "proba_informative", "proba_not_informative"]
    assert len(lines) == 4
