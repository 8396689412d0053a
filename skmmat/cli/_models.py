"""The commands that handle model files: ``train``, ``predict``, ``info`` and ``keygen``."""

from __future__ import annotations

import os
import sys

import numpy as np

from ._options import UserError, classifier_params, images_present, load_data, positive

__all__ = ["info", "keygen", "predict", "train"]


def train(args):
    from .._persistence import save_model
    from ..datasets import crisismmd_train_test_split
    from ..experiments import TABLE1_MODELS, make_table1_model, measure_for_card

    if not 0.0 <= args.test_size <= 0.5:
        raise UserError(f"--test-size must be in [0, 0.5], got {args.test_size}.")
    df = load_data(args)
    modalities = TABLE1_MODELS[args.model][0]
    if "image" in modalities:
        missing, total = images_present(df)
        if missing:
            raise UserError(
                f"{args.model} needs the CrisisMMD images, but {missing} of {total} are absent "
                f"under {args.data / 'data_image'}; train a text model (text_cnn, text_cnn_adv)."
            )
    if args.out.exists() and args.out.is_dir():
        raise UserError(f"--out must be a file path, {args.out} is a folder.")
    if args.sign_key is not None and not args.sign_key.is_file():
        raise UserError(f"--sign-key: no such file: {args.sign_key}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out.with_name(args.out.name + ".checkpoint")
    params = classifier_params(args, default_epochs=50)
    positive(args.image_size, "--image-size")
    model = make_table1_model(
        args.model,
        image_size=(args.image_size, args.image_size),
        random_state=args.seed,
        vectors=args.vectors,
        verbose=0 if args.quiet else 1,
        checkpoint_dir=str(checkpoint),
        **params,
    )
    X, y = df[["tweet_id", "event", "image", "text"]], df["label"].to_numpy()
    X_test = None
    if args.test_size > 0:
        X, X_test, y, y_test = crisismmd_train_test_split(
            X, y, test_size=args.test_size, split=args.split, random_state=args.seed
        )
    rows = X["event"].value_counts(sort=False)
    print(
        f"Training {args.model} on {len(X)} tweets ({', '.join(rows.index)})"
        + ("." if X_test is None else f", {len(X_test)} held out for the model card.")
    )
    model.fit(X[["image", "text"]], y)
    card = {
        "training": {
            "data": "CrisisMMD v2.0",
            "task": "informative",
            "label_source": "either",
            "rows_per_event": {event: int(n) for event, n in rows.items()},
            "seed": args.seed,
        }
    }
    if X_test is not None:
        if not args.quiet:
            print("Scoring the held-out tweets, clean and under the strongest attacks.")
        evaluation = measure_for_card(
            model,
            X_test[["image", "text"]],
            y_test,
            modalities,
            vectors=args.vectors,
            random_state=args.seed,
        )
        card["evaluation"] = {"split": f"by {args.split[:-1]}", **evaluation}
        clean, worst = evaluation["clean"], evaluation["attacked"]["strongest"]
        print(
            f"Held out: accuracy {clean['accuracy']:.1%} (macro-F1 {clean['macro_f1']:.3f}), "
            f"under the strongest attacks {worst['accuracy']:.1%} "
            f"(macro-F1 {worst['macro_f1']:.3f})."
        )
    save_model(model, args.out, card=card, signing_key=args.sign_key)
    signed = "" if args.sign_key is None else f", signed with {args.sign_key}"
    print(f"Saved {args.model} to {args.out}{signed}")


def predict(args):
    import pandas as pd

    from .._persistence import load_model, model_card

    if not args.model.is_file():
        raise UserError(f"--model: no such file: {args.model}")
    if not args.input.is_file():
        raise UserError(f"no such input file: {args.input}")
    model = load_model(args.model, verify_key=args.verify_key)
    if args.verify_key is None and not args.quiet:
        signer = model_card(args.model)["signature"]
        if signer is not None:
            print(
                f"{args.model} is signed by {signer['signer']} (not verified: pass "
                "--verify-key to check it)",
                file=sys.stderr,
            )
    table = pd.read_csv(args.input, sep="\t", dtype=str, quoting=3, keep_default_na=False)
    table = table.rename(columns={"tweet_text": "text", "image_path": "image"})
    base = args.input.resolve().parent
    if "image" in table.columns:
        table["image"] = [
            str(base / p) if p and not os.path.isabs(p) else p for p in table["image"]
        ]
    proba = model.predict_proba(table)
    classes = model.classes_
    out = pd.DataFrame({"label": classes[np.argmax(proba, axis=1)]})
    for i, label in enumerate(classes):
        out[f"proba_{label}"] = np.round(proba[:, i], 6)
    for column in ("image_id", "tweet_id"):
        if column in table.columns:
            out.insert(0, column, table[column].to_numpy())
    if args.output:
        out.to_csv(args.output, sep="\t", index=False)
        if not args.quiet:
            print(f"Wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    else:
        out.to_csv(sys.stdout, sep="\t", index=False)


def info(args):
    import json

    from .._persistence import model_card

    if not args.model.is_file():
        raise UserError(f"no such model file: {args.model}")
    card = model_card(args.model, verify_key=args.verify_key)
    if args.json:
        print(json.dumps(card, indent=2, sort_keys=True))
        return
    signature = card.pop("signature")
    print(f"{args.model}")
    if signature is None:
        print("  signature: none (unsigned file)")
    else:
        state = "verified against --verify-key" if signature["verified"] else "not verified"
        print(f"  signed by: {signature['signer']} ({state})")
    for key in ("estimator", "classes", "input_shapes", "skmmat_version"):
        if key in card:
            print(f"  {key}: {_show(card.pop(key))}")
    for table in card.pop("embedding", []):
        print(f"  embedding: {_show(table)}")
    evaluation = card.pop("evaluation", None)
    training = card.pop("training", None)
    parameters = card.pop("parameters", {})
    if training is not None:
        print("  training:")
        for key, value in training.items():
            print(f"    {key}: {_show(value)}")
    if evaluation is not None:
        print(f"  evaluation on {evaluation.get('test_rows')} held-out rows:")
        clean = evaluation.get("clean", {})
        print(f"    clean: {_scores(clean)}")
        for name, entry in evaluation.get("attacked", {}).items():
            print(f"    {name}: {_scores(entry)}  [{entry.get('attack')}]")
        print(f"    threat model: {_show(evaluation.get('threat_model'))}")
    for key, value in card.items():
        print(f"  {key}: {_show(value)}")
    print("  parameters:")
    for key, value in parameters.items():
        print(f"    {key} = {_show(value)}")


def _show(value):
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _scores(entry):
    return f"accuracy {entry['accuracy']:.1%}, macro-F1 {entry['macro_f1']:.3f}"


def keygen(args):
    import getpass

    from .._persistence import PASSWORD_ENV, generate_key_pair, load_verify_keys

    password = None
    if args.encrypt:
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            if not sys.stdin.isatty():
                raise UserError(
                    f"--encrypt needs a password: set {PASSWORD_ENV} or run in a terminal."
                )
            password = getpass.getpass("Password for the new private key: ")
            if getpass.getpass("Again: ") != password:
                raise UserError("the two passwords differ.")
        if not password:
            raise UserError("--encrypt needs a non-empty password.")
        password = password.encode("utf-8")
    private, public = generate_key_pair(args.out, password=password, name=args.name)
    (fp,) = load_verify_keys(public)
    print(f"Wrote the private key {private} (keep it secret; mode 0600)")
    print(f"Wrote the public key {public} (share it with those who load your models)")
    print(f"Fingerprint: {fp}")
