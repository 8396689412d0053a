"""Pictures and a Markdown report of a Table I run (``skmmat demo --out``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .experiments import PLAIN_COUNTERPART, TABLE1_MODELS, format_table

__all__ = ["write_report"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Writing the report's pictures needs matplotlib: pip install 'skmmat[plot]'."
        ) from exc
    return plt


def plot_table1(results, path):
    """Grouped bars: original vs adversarial accuracy per model."""
    plt = _pyplot()
    names = list(results)
    labels = [TABLE1_MODELS[n][2] for n in names]
    clean = [100 * results[n].clean_accuracy for n in names]
    white = [100 * results[n].adversarial_accuracy for n in names]
    transfer = [
        100 * results[n].transfer_accuracy if n in PLAIN_COUNTERPART else np.nan for n in names
    ]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8.5, 4.2), dpi=120)
    width = 0.27
    bars = [
        ax.bar(x - width, clean, width, label="original", color="#4C72B0"),
        ax.bar(x, white, width, label="adversarial (white-box)", color="#DD8452"),
        ax.bar(x + width, transfer, width, label="adversarial (from plain model)", color="#55A868"),
    ]
    for group in bars:
        for rect in group:
            height = rect.get_height()
            if np.isfinite(height):
                ax.annotate(
                    f"{height:.0f}",
                    (rect.get_x() + rect.get_width() / 2, height),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    xytext=(0, 1),
                    textcoords="offset points",
                )
    ax.set_xticks(x, labels)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 109)
    ax.set_title("Table I: accuracy on original and adversarial test tweets")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _coloured_words(ax, words, changed, y, *, size=9):
    """Write words left to right at height y, the changed ones in red and bold."""
    text = ax.text(0.0, y, "", transform=ax.transAxes, fontsize=size, va="top")
    for i, word in enumerate(words):
        style = {"color": "#C0392B", "fontweight": "bold"} if changed[i] else {"color": "black"}
        text = ax.annotate(
            word + " ",
            xycoords=text,
            xy=(1, 0) if i else (0, 0),
            va="bottom",
            fontsize=size,
            **style,
        )
    return text


def plot_examples(examples, path):
    """The paper's Fig. 4 and 5: images and tweets before and after the attack.

    Parameters
    ----------
    examples : list of dict
        Each with ``image``, ``image_adv`` (H, W, 3 float arrays), ``tokens``,
        ``tokens_adv`` (sequences of str), ``label``, ``pred``, ``pred_adv``
        and ``conf``, ``conf_adv`` (the model's confidence in its prediction).
    path : str or Path
    """
    plt = _pyplot()
    n = len(examples)
    fig = plt.figure(figsize=(10, 2.9 * n), dpi=120)
    grid = fig.add_gridspec(n, 3, width_ratios=[1, 1, 3.2], wspace=0.08, hspace=0.35)
    for row, ex in enumerate(examples):
        for col, (img, title) in enumerate(
            ((ex["image"], "original image"), (ex["image_adv"], "after FGSM (eps 0.1)"))
        ):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(np.clip(img, 0, 1))
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        ax = fig.add_subplot(grid[row, 2])
        ax.axis("off")
        ax.text(
            0,
            1.0,
            f"true label: {ex['label']}",
            transform=ax.transAxes,
            fontsize=10,
            fontweight="bold",
            va="top",
        )
        changed = [a != b for a, b in zip(ex["tokens"], ex["tokens_adv"], strict=False)]
        for offset, (caption, words, marks, pred, conf) in enumerate(
            (
                (
                    "original tweet",
                    ex["tokens"],
                    [False] * len(ex["tokens"]),
                    ex["pred"],
                    ex["conf"],
                ),
                ("adversarial tweet", ex["tokens_adv"], changed, ex["pred_adv"], ex["conf_adv"]),
            )
        ):
            top = 0.82 - 0.45 * offset
            ax.text(
                0,
                top,
                f"{caption}: MMN says {pred} ({100 * conf:.1f}%)",
                transform=ax.transAxes,
                fontsize=9,
                style="italic",
                va="top",
            )
            words = list(words)
            for line in range(0, len(words), 8):
                _coloured_words(
                    ax,
                    words[line : line + 8],
                    marks[line : line + 8],
                    top - 0.15 - 0.11 * (line // 8),
                )
    fig.suptitle(
        "Adversarial examples against MMN (substituted words in red)", fontsize=11, y=0.995
    )
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def pick_examples(model, X, X_adv, y, *, n=2):
    """Test rows the model gets right and the attack flips, one per class if possible."""
    proba = model.predict_proba(X)
    proba_adv = model.predict_proba(X_adv)
    classes = model.classes_
    pred, pred_adv = classes[proba.argmax(1)], classes[proba_adv.argmax(1)]
    flipped = np.flatnonzero((pred == y) & (pred_adv != y))
    chosen = []
    for label in classes:
        rows = [i for i in flipped if y[i] == label]
        if rows:
            chosen.append(rows[0])
    for i in flipped:
        if len(chosen) >= n:
            break
        if i not in chosen:
            chosen.append(i)
    examples = []
    for i in chosen[:n]:
        examples.append(
            {
                "image": X["image"].iloc[i],
                "image_adv": X_adv["image"].iloc[i],
                "tokens": tuple(X["tokens"].iloc[i]),
                "tokens_adv": tuple(X_adv["tokens"].iloc[i]),
                "label": y[i],
                "pred": pred[i],
                "pred_adv": pred_adv[i],
                "conf": float(proba[i].max()),
                "conf_adv": float(proba_adv[i].max()),
            }
        )
    return examples


def write_report(results, out_dir, *, examples=None, title="skmmat demo", command=None):
    """Write ``report.md``, ``table1.png`` and, given examples, ``examples.png``.

    Returns
    -------
    paths : list of Path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.md", out / "table1.png"]
    plot_table1(results, paths[1])
    if examples:
        paths.append(out / "examples.png")
        plot_examples(examples, paths[2])
    lines = [f"# {title}", ""]
    if command:
        lines += ["Produced by:", "", "```", command, "```", ""]
    lines += [
        "Accuracy (%) on the original test tweets and on adversarial ones: white-box "
        "(crafted against the model itself with FGSM eps 0.1 on images and word "
        "substitution, Eq. 2, on texts) and, for the adversarially trained models, crafted "
        "against the plain counterpart (the paper's likely protocol).",
        "",
        "```",
        format_table(results),
        "```",
        "",
        "![Table I](table1.png)",
        "",
    ]
    if examples:
        lines += [
            "## Adversarial examples",
            "",
            "Test tweets that MMN classifies correctly and misclassifies after the joint "
            "attack (cf. the paper's Fig. 4 and 5).",
            "",
            "![examples](examples.png)",
            "",
        ]
    paths[0].write_text("\n".join(lines), encoding="utf-8")
    return paths
