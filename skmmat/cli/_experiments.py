"""The commands that run experiments: ``demo`` and ``table1``."""

from __future__ import annotations

from ._options import (
    UserError,
    classifier_params,
    command_line,
    images_present,
    load_data,
    positive,
)

__all__ = ["demo", "table1"]


def _case_study(results, X_test, y_test):
    """The paper's Fig. 4/5 against MMN, with MMAT beside it; None without MMN."""
    from ..experiments import TABLE1_MODELS, case_study

    names = [n for n in ("mmn", "mmat") if n in results]
    if "mmn" not in names:
        return None
    estimators = {TABLE1_MODELS[n][2]: results[n].estimator for n in names}
    return case_study(estimators, X_test, y_test, attacked="MMN")


# ----------------------------------------------------------------------------
def demo(args):
    from sklearn.model_selection import train_test_split

    from ..datasets import make_crisis_tweets
    from ..experiments import format_table, run_table1

    positive(args.n_samples, "--n-samples")
    positive(args.image_size, "--image-size")
    if args.n_samples < 40:
        raise UserError("--n-samples must be at least 40 for a train/test split.")
    progress = not args.quiet
    df = make_crisis_tweets(args.n_samples, random_state=args.seed)
    X, y = df[["image", "text"]], df["label"].to_numpy()
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    print(
        f"Demo data: {len(df)} synthetic crisis tweets (image + text), {len(X_tr)} for "
        f"training, {len(X_te)} for testing.",
        flush=True,
    )
    results, Xp = run_table1(
        X_tr,
        y_tr,
        X_te,
        y_te,
        return_test_frame=True,
        progress=progress,
        random_state=args.seed,
        image_size=(args.image_size, args.image_size),
        **classifier_params(args, default_epochs=15),
    )
    print()
    print(format_table(results))
    if args.out:
        from .._report import write_report

        paths = write_report(
            {"demo": (results, _case_study(results, Xp, y_te))},
            args.out,
            title="skmmat demo: Table I on the embedded demo data",
            command=command_line(),
        )
        print("\nWrote " + ", ".join(str(p) for p in paths))


def table1(args):
    from ..datasets import crisismmd_train_test_split
    from ..experiments import TABLE1_MODELS, format_table, run_table1

    if not 0.0 < args.test_size <= 0.5:
        raise UserError(f"--test-size must be in (0, 0.5], got {args.test_size}.")
    df = load_data(args)
    models = args.models or list(TABLE1_MODELS)
    missing, total = images_present(df)
    if missing:
        text_models = [m for m in models if TABLE1_MODELS[m][0] == ("text",)]
        print(
            f"Images absent under {args.data / 'data_image'} ({missing} of {total} missing): "
            f"running the text models only ({', '.join(text_models) or 'none'})."
        )
        models = text_models
        if not models:
            raise UserError("no text model requested and the images are absent.")
    params = classifier_params(args, default_epochs=50)
    positive(args.image_size, "--image-size")
    params["image_size"] = (args.image_size, args.image_size)
    if args.split == "tweets":
        params["validation_groups"] = "tweet_id"
    sections = {}
    for event, part in df.groupby("event", sort=False):
        X, y = part[["tweet_id", "image", "text"]], part["label"].to_numpy()
        X_tr, X_te, y_tr, y_te = crisismmd_train_test_split(
            X, y, test_size=args.test_size, split=args.split, random_state=args.seed
        )
        print(
            f"\n{event}: {len(X_tr)} training and {len(X_te)} test tweets (split by "
            f"{args.split[:-1]})",
            flush=True,
        )
        results, Xp = run_table1(
            X_tr,
            y_tr,
            X_te,
            y_te,
            models=models,
            progress=not args.quiet,
            vectors=args.vectors,
            random_state=args.seed,
            return_test_frame=True,
            **params,
        )
        print(format_table(results))
        sections[event] = (results, _case_study(results, Xp, y_te) if args.out else None)
    if args.out:
        from .._report import write_report

        paths = write_report(
            sections,
            args.out,
            title="skmmat table1 on CrisisMMD",
            command=command_line(),
        )
        print("\nWrote " + ", ".join(str(p) for p in paths))
