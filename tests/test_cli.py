"""The skmmat command line, run as a user would."""

import json
import os
import subprocess
import sys

import pytest

from skmmat.cli import main


def test_help_lists_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "skmmat", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("demo", "table1", "train", "predict", "info", "keygen"):
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
    # 10 % of the tweets held out to measure the model for its card
    assert "Training text_cnn on 920 tweets (srilanka_floods), 102 held out" in (
        capsys.readouterr().out
    )
    tweets = tmp_path / "tweets.tsv"
    tweets.write_text("text\nFlood waters destroyed homes in Colombo\nhappy birthday\n")
    assert main(["predict", "--model", str(model), str(tweets)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["label", "proba_informative", "proba_not_informative"]
    assert len(lines) == 3  # one prediction per input row, none dropped
    for line in lines[1:]:
        label, p_inf, p_not = line.split("\t")
        assert label in {"informative", "not_informative"}
        assert abs(float(p_inf) + float(p_not) - 1.0) < 1e-5


def test_signed_training_info_and_verified_prediction(crisismmd_root, tmp_path, capsys):
    """keygen, train --sign-key, info and predict --verify-key, as two organisations would."""
    from skmmat import model_card

    pytest.importorskip("cryptography")
    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    fingerprint = capsys.readouterr().out.splitlines()[-1].removeprefix("Fingerprint: ")
    private, public = tmp_path / "keys/skmmat_ed25519.pem", tmp_path / "keys/skmmat_ed25519.pub.pem"
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    assert main(["keygen", "--out", str(tmp_path / "other"), "--name", "other"]) == 0
    model = tmp_path / "signed.safetensors"
    argv = ["train", "--data", str(crisismmd_root), "--events", "srilanka_floods"]
    argv += ["--model", "text_cnn", "--epochs", "2", "--quiet", "--out", str(model)]
    assert main([*argv, "--sign-key", str(private)]) == 0
    out = capsys.readouterr().out
    card = model_card(model, verify_key=public)
    assert card["signature"] == {"signer": fingerprint, "verified": True}
    assert card["training"]["rows_per_event"] == {"srilanka_floods": 920}
    assert card["training"]["task"] == "informative"
    evaluation = card["evaluation"]
    assert evaluation["test_rows"] == 102 and evaluation["split"] == "by tweet"
    worst = evaluation["attacked"]["strongest"]
    assert worst["accuracy"] <= evaluation["clean"]["accuracy"]
    assert f"under the strongest attacks {worst['accuracy']:.1%}" in out
    assert evaluation["threat_model"]["max_substitutions"] == 3
    # info prints the card and the signer
    assert main(["info", str(model), "--verify-key", str(public)]) == 0
    out = capsys.readouterr().out
    assert f"signed by: {fingerprint} (verified against --verify-key)" in out
    assert "rows_per_event: srilanka_floods=920" in out and "strongest: accuracy" in out
    assert main(["info", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluation"] == evaluation
    # predict checks the signature: our key loads it, another key is refused in one line
    tweets = tmp_path / "tweets.tsv"
    tweets.write_text("text\nFlood waters destroyed homes in Colombo\n")
    assert main(["predict", "--model", str(model), str(tweets), "--verify-key", str(public)]) == 0
    assert capsys.readouterr().out.startswith("label\t")
    other = tmp_path / "other/other.pub.pem"
    assert main(["predict", "--model", str(model), str(tweets), "--verify-key", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is signed by {fingerprint}, which is not among" in err
    # without a key it loads, and says who signed it
    assert main(["predict", "--model", str(model), str(tweets)]) == 0
    assert f"is signed by {fingerprint} (not verified" in capsys.readouterr().err
    # an unsigned model under --verify-key
    unsigned = tmp_path / "unsigned.safetensors"
    assert main([*argv[:-1], str(unsigned), "--test-size", "0"]) == 0
    assert model_card(unsigned).get("evaluation") is None
    capsys.readouterr()
    argv = ["predict", "--model", str(unsigned), str(tweets), "--verify-key", str(public)]
    assert main(argv) == 2
    assert "is not signed" in capsys.readouterr().err


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
    argv += ["--test-size", "0"]  # every image through the fit
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
