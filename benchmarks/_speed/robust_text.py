"""Figure 11: what the robust text trainings cost over a plain Text-CNN, and a smoothed vote."""

from __future__ import annotations

from skmmat import GloveSequencer, WordSubstitutionPerturber, load_crisismmd, make_crisis_tweets
from skmmat.experiments import make_table1_model

from .common import figure, paired_times

SECTION = "11. Robust text training and smoothed prediction"
EVENT = "mexico_earthquake"


def _texts(cfg, data):
    """The event's preprocessed texts (or demo texts) and labels, and what they are."""
    n = cfg["robust_rows"]
    if data is not None:
        df = load_crisismmd(data, events=EVENT)
        what = f"{EVENT} texts"
    else:
        df = make_crisis_tweets(1380, random_state=0)
        what = "demo texts (no CrisisMMD annotations under --data)"
    df = df.iloc[:n] if n else df
    X = GloveSequencer().fit_transform(df[["tweet_id", "text"]])
    return X, df["label"].to_numpy(), f"{len(df):,} {what}"


def bench_robust_text(cfg, data, details):
    """TRADES and smoothing fits over a plain fit; a smoothed prediction over a plain one.

    Every model is the Text-CNN of ``make_table1_model`` with balanced class
    weights and the same fixed number of epochs (no early stopping), so the
    ratios are the cost per epoch of each training; TRADES attacks every
    batch with 3 Eq. 2 steps within 3 words, as in the threat-model benchmark.
    """
    X, y, what = _texts(cfg, data)
    params = {
        "random_state": 0,
        "preprocessing": False,
        "validation_groups": "tweet_id",
        "class_weight": "balanced",
        "max_epochs": cfg["robust_epochs"],
        "patience": None,
    }
    plain = make_table1_model("text_cnn", **params)
    trades = make_table1_model("text_cnn_adv", method="trades", **params).set_params(
        text_perturber=WordSubstitutionPerturber(n_iter=3, max_substitutions=3)
    )
    smooth = make_table1_model("text_cnn_adv", method="smoothing", **params)
    repeats = cfg["robust_repeats"]
    fit_trades = paired_times(lambda: trades.fit(X, y), lambda: plain.fit(X, y), repeats)
    fit_smooth = paired_times(lambda: smooth.fit(X, y), lambda: plain.fit(X, y), repeats)
    rows = X.iloc[: cfg["robust_predict_rows"]]
    smooth.predict(rows)  # the noise sets of the rows' words, looked up once
    predict = paired_times(
        lambda: smooth.predict(rows), lambda: plain.predict(rows), cfg["robust_repeats"]
    )
    certify = paired_times(
        lambda: smooth.certify(rows), lambda: plain.predict(rows), cfg["robust_repeats"]
    )
    details["robust_text"] = {
        "rows": len(X),
        "epochs": cfg["robust_epochs"],
        "fit_trades": fit_trades,
        "fit_smoothing": fit_smooth,
        "predict_rows": len(rows),
        "smoothed_predict": predict,
        "smoothed_certify": certify,
    }
    fit_note = (
        f"{what}, Text-CNN with balanced class weights, {cfg['robust_epochs']} epochs each "
        f"(no early stopping); median of {repeats} paired runs"
    )
    return [
        figure(
            "trades_fit_over_text_cnn_fit",
            fit_trades["ratio"],
            "ratio",
            ("<=", 4.0),
            f"AdversarialAugmentationWrapper(method='trades'), 3 Eq. 2 steps within 3 words "
            f"on every batch, over a plain fit: {fit_note}",
            section=SECTION,
        ),
        figure(
            "smoothing_fit_over_text_cnn_fit",
            fit_smooth["ratio"],
            "ratio",
            ("<=", 4.0),
            f"RandomizedSmoothingClassifier fit (4 noisy copies of each tweet) over a plain "
            f"fit: {fit_note}",
            section=SECTION,
        ),
        figure(
            "smoothed_predict_over_predict",
            predict["ratio"],
            "ratio",
            None,
            f"RandomizedSmoothingClassifier.predict (a vote of 100 masked copies) over the "
            f"plain Text-CNN's predict, {len(rows)} rows",
            section=SECTION,
        ),
        figure(
            "smoothed_certify_over_predict",
            certify["ratio"],
            "ratio",
            None,
            f"RandomizedSmoothingClassifier.certify (the vote, 1,000 fresh copies and the "
            f"bound of each tweet) over the plain Text-CNN's predict, {len(rows)} rows",
            section=SECTION,
        ),
    ]
