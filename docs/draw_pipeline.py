"""Draw the landing page's pipeline diagram, ``docs/_static/pipeline.svg``.

Usage::

    python docs/draw_pipeline.py

The text is written as paths in DejaVu Sans (the font matplotlib ships), so the diagram
looks the same in every browser whatever fonts the reader's machine has.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

OUT = Path(__file__).resolve().parent / "_static" / "pipeline.svg"
WIDTH, HEIGHT = 1000, 360  # drawing units; 1 unit = 0.72 pt at 10 inches wide
EDGE = "#44546a"

#: (x, y, width, height, fill, stroke, title, lines); a line is ("gap",), (kind, text) or
#: (kind, text, note at the right edge), kind "cls" (a name in the API) or "note"
BOXES = [
    (
        10,
        30,
        210,
        150,
        "#eef3f8",
        "#7d99b8",
        "1 · DATA",
        [
            ("cls", "load_crisismmd"),
            ("cls", "make_crisis_tweets"),
            ("gap",),
            ("note", "a DataFrame, one row per"),
            ("note", "image-tweet pair: image,"),
            ("note", "text, tweet_id, event, label"),
        ],
    ),
    (
        255,
        30,
        225,
        150,
        "#eef6ee",
        "#82ad82",
        "2 · PREPROCESSING",
        [
            ("cls", "ImageResizer"),
            ("note", "image → 64×64×3 in [0, 1]"),
            ("gap",),
            ("cls", "GloveSequencer"),
            ("note", "text → first 15 words as"),
            ("note", "GloVe vectors, + tokens"),
        ],
    ),
    (
        515,
        30,
        250,
        150,
        "#fbf1e6",
        "#d39b5c",
        "3 · MODEL",
        [
            ("cls", "MultiModalCNNClassifier"),
            ("note", "Visual-CNN, Text-CNN or MMN"),
            ("gap",),
            ("cls", "AdversarialAugmentation-"),
            ("cls", "Wrapper"),
            ("note", "MMAT: Algorithm 1"),
        ],
    ),
    (
        800,
        30,
        190,
        150,
        "#f4eef8",
        "#a589bd",
        "5 · METRICS",
        [
            ("cls", "skmmat.metrics"),
            ("gap",),
            ("note", "accuracy, macro-F1,"),
            ("note", "balanced accuracy, clean"),
            ("note", "and adversarial; scorers"),
            ("note", "for GridSearchCV"),
        ],
    ),
    (
        515,
        240,
        250,
        110,
        "#f9ecec",
        "#c46a6a",
        "4 · ATTACKS",
        [
            ("cls", "FGSMPerturber", "Eq. 1"),
            ("gap",),
            ("cls", "WordSubstitution-"),
            ("cls", "Perturber", "Eq. 2"),
        ],
    ),
]

#: arrows as polylines, and their labels (x, y, text, horizontal alignment)
ARROWS = [
    [(220, 105), (255, 105)],
    [(480, 105), (515, 105)],
    [(765, 105), (800, 105)],
    [(580, 180), (580, 240)],
    [(700, 240), (700, 180)],
    [(765, 295), (895, 295), (895, 180)],
]
LABELS = [
    (782, 22, "predictions", "center"),
    (572, 214, "loss gradient", "right"),
    (708, 205, "adversarial tweets:", "left"),
    (708, 221, "MMAT retrains on them", "left"),
    (775, 285, "adversarial test tweets", "left"),
]

SIZE = {"stage": 12, "cls": 13.5, "note": 12.5, "label": 12}  # in drawing units
STYLE = {
    "cls": {"family": "DejaVu Sans Mono", "weight": "bold", "color": "#1b2a3a"},
    "note": {"family": "DejaVu Sans", "color": "#33404d"},
}
STEP = {"cls": 19, "note": 17, "gap": 8}


def _pt(units):
    return units * 0.72


def draw(path=OUT):
    """Write the diagram to ``path`` as SVG with its text as paths."""
    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["svg.hashsalt"] = "skmmat"  # the same file on every run
    fig = plt.figure(figsize=(WIDTH / 100, HEIGHT / 100))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(HEIGHT, 0)
    ax.axis("off")
    for x, y, w, h, fill, stroke, title, lines in BOXES:
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=10",
                facecolor=fill,
                edgecolor=stroke,
                linewidth=_pt(1.6),
            )
        )
        ax.text(x + 14, y + 22, title, fontsize=_pt(SIZE["stage"]), weight="bold", color=EDGE)
        baseline = y + 30
        for kind, *rest in lines:
            baseline += STEP[kind]
            if kind == "gap":
                continue
            text, *right = rest
            ax.text(x + 14, baseline, text, fontsize=_pt(SIZE[kind]), **STYLE[kind])
            if right:
                note = {"fontsize": _pt(SIZE["note"]), **STYLE["note"]}
                ax.text(x + w - 14, baseline, right[0], ha="right", **note)
    for points in ARROWS:
        codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 1)
        ax.add_patch(
            FancyArrowPatch(
                path=MplPath(points, codes),
                arrowstyle="-|>,head_length=6,head_width=3.5",
                color=EDGE,
                linewidth=_pt(1.8),
                shrinkA=0,
                shrinkB=0,
            )
        )
    for x, y, text, align in LABELS:
        ax.text(x, y, text, fontsize=_pt(SIZE["label"]), style="italic", color=EDGE, ha=align)
    fig.savefig(path, format="svg", metadata={"Date": None, "Title": "The skmmat pipeline"})
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(draw())
