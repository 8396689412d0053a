"""Table I as text."""

from ._models import PLAIN_COUNTERPART, TABLE1_MODELS

__all__ = ["format_table"]


def format_table(results, *, paper=None):
    """Table I as text: one row per model, accuracies and macro-F1 in percent.

    The macro-F1 columns (original and white-box adversarial) appear when the
    results carry them. A model that predicted one class for every test
    tweet is marked with ``*`` and a footnote: it scores the majority rate
    and cannot be attacked.

    Parameters
    ----------
    results : dict of str -> Table1Result
    paper : dict of str -> (float, float), optional
        The paper's (original, adversarial) percentages per model, shown
        beside.

    Returns
    -------
    table : str
    """
    header = ["model", "original", "adversarial", "from plain model"]
    if any(r.pgd_accuracy is not None for r in results.values()):
        header.append("PGD-10")
    f1 = any(r.clean_macro_f1 is not None for r in results.values())
    if f1:
        header += ["macro-F1", "adv. macro-F1"]
    header.append("fit s")
    if paper:
        header.append("paper orig/adv")
    rows = []
    for name, r in results.items():
        row = [
            TABLE1_MODELS[name][2] + ("*" if r.one_class else ""),
            f"{100 * r.clean_accuracy:.1f}",
            f"{100 * r.adversarial_accuracy:.1f}",
            f"{100 * r.transfer_accuracy:.1f}" if name in PLAIN_COUNTERPART else "-",
        ]
        if "PGD-10" in header:
            row.append("-" if r.pgd_accuracy is None else f"{100 * r.pgd_accuracy:.1f}")
        if f1:
            row += [_percent(r.clean_macro_f1), _percent(r.adversarial_macro_f1)]
        row.append(f"{r.fit_seconds:.0f}")
        if paper:
            ref = paper.get(name)
            row.append(f"{ref[0]:.2f}/{ref[1]:.2f}" if ref else "-")
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    out = [line, "-" * len(line)]
    for row in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    if any(r.one_class for r in results.values()):
        out.append("* predicted one class for every original test tweet")
    return "\n".join(out)


def _percent(value):
    return "-" if value is None else f"{100 * value:.1f}"
