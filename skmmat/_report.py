"""Pictures and a Markdown report of a Table I run (``skmmat demo/table1 --out``)."""

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


def plot_examples(study, path):
    """The paper's Fig. 4 and 5: images and tweets before and after the attack.

    Parameters
    ----------
    study : skmmat.experiments.CaseStudy
        From :func:`skmmat.experiments.case_study`; its examples need an
        image and a text.
    path : str or Path
    """
    plt = _pyplot()
    examples = study.examples
    n = len(examples)
    models = list(examples[0].predictions)
    fig = plt.figure(figsize=(10, (2.3 + 0.35 * len(models)) * n), dpi=120)
    grid = fig.add_gridspec(n, 3, width_ratios=[1, 1, 3.2], wspace=0.08, hspace=0.35)
    for row, ex in enumerate(examples):
        for col, (img, title) in enumerate(
            ((ex.image, "original image"), (ex.image_adv, "adversarial image"))
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
            f"true label: {ex.label}",
            transform=ax.transAxes,
            fontsize=10,
            fontweight="bold",
            va="top",
        )
        changed = set(ex.substituted)
        top = 0.86
        for caption, words, marks in (
            ("original tweet", ex.tokens, ()),
            ("adversarial tweet (substituted words in red)", ex.tokens_adv, changed),
        ):
            ax.text(0, top, caption, transform=ax.transAxes, fontsize=9, style="italic", va="top")
            words = list(words)
            for line in range(0, len(words), 8):
                top -= 0.12
                _coloured_words(
                    ax,
                    words[line : line + 8],
                    [i in marks for i in range(line, line + 8)],
                    top,
                )
            top -= 0.14
        for name in models:
            p = ex.predictions[name]
            ax.text(
                0,
                top,
                f"{name}: {p['pred']} ({100 * p['confidence']:.1f}%)"
                f"  ->  {p['pred_adv']} ({100 * p['confidence_adv']:.1f}%)",
                transform=ax.transAxes,
                fontsize=9,
                va="top",
            )
            top -= 0.11
    fig.suptitle(
        f"Adversarial examples crafted against {study.attacked}: each model's prediction "
        "(confidence) before -> after",
        fontsize=10,
        y=0.995,
    )
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def case_study_markdown(study):
    """Markdown lines describing a case study: counts, then one table per tweet."""
    lines = [
        f"Adversarial examples crafted against {study.attacked} on {study.n_rows} test tweets "
        f"(cf. the paper's Fig. 4 and 5). The attack flips {study.n_flipped} tweets that "
        f"{study.attacked} classified correctly.",
        "",
        "| model | correct, original | correct, adversarial | of the flipped tweets, "
        "still correct |",
        "|---|---|---|---|",
    ]
    for name in study.correct:
        lines.append(
            f"| {name} | {study.correct[name]} | {study.correct_adv[name]} | "
            f"{study.flipped_kept[name]} of {study.n_flipped} |"
        )
    lines.append("")
    if not study.examples:
        return lines + ["The attack flipped no test tweet: there is no example to show.", ""]
    for k, ex in enumerate(study.examples, 1):
        lines += [f"**Tweet {k}** (test row {ex.row}, true label: {ex.label})", ""]
        if ex.tokens is not None:
            changed = set(ex.substituted)
            marked = [
                b
                if i not in changed
                else f"~~{ex.tokens[i]}~~ **{b}**"
                if i < len(ex.tokens)
                else f"**{b}**"
                for i, b in enumerate(ex.tokens_adv)
            ]
            lines += [f"- original: {' '.join(ex.tokens)}", f"- adversarial: {' '.join(marked)}"]
        lines += ["", "| model | original | adversarial |", "|---|---|---|"]
        for name, p in ex.predictions.items():
            lines.append(
                f"| {name} | {p['pred']} ({100 * p['confidence']:.1f}%) | "
                f"{p['pred_adv']} ({100 * p['confidence_adv']:.1f}%) |"
            )
        lines.append("")
    return lines


def write_report(sections, out_dir, *, title, command=None):
    """Write ``report.md`` and its pictures: per section, Table I and the case study.

    Parameters
    ----------
    sections : dict of str -> (dict of Table1Result, CaseStudy or None)
        One section per dataset or event. With one section the pictures
        are ``table1.png`` and ``examples.png``; with several,
        ``table1_<name>.png`` and ``examples_<name>.png``.
    out_dir : str or Path
    title : str
        The report's heading.
    command : str, optional
        The command that produced it.

    Returns
    -------
    paths : list of Path
        ``report.md`` first, then the pictures.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.md"
    paths = [report]
    lines = [f"# {title}", ""]
    if command:
        lines += ["Produced by:", "", "```", command, "```", ""]
    lines += [
        "Accuracy (%) on the original test tweets and on adversarial ones: white-box "
        "(crafted against the model itself with FGSM eps 0.1 on images and word "
        "substitution, Eq. 2, on texts) and, for the adversarially trained models, crafted "
        "against the plain counterpart (the paper's likely protocol).",
        "",
    ]
    for name, (results, study) in sections.items():
        suffix = "" if len(sections) == 1 else f"_{name}"
        if len(sections) > 1:
            lines += [f"## {name}", ""]
        table = out / f"table1{suffix}.png"
        plot_table1(results, table)
        paths.append(table)
        lines += ["```", format_table(results), "```", "", f"![Table I]({table.name})", ""]
        if study is None:
            continue
        lines += ["#" * (2 + (len(sections) > 1)) + " Case study: adversarial examples", ""]
        lines += case_study_markdown(study)
        first = study.examples[0] if study.examples else None
        if first is not None and first.image is not None and first.tokens is not None:
            picture = out / f"examples{suffix}.png"
            plot_examples(study, picture)
            paths.append(picture)
            lines += [f"![examples]({picture.name})", ""]
    report.write_text("\n".join(lines), encoding="utf-8")
    return paths
