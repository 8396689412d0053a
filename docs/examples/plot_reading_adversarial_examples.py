"""
Reading adversarial examples
============================

What does an adversarial tweet look like? This example trains the multi-modal network
(MMN) on demo tweets, crafts adversarial examples against it with the paper's attacks,
FGSM on the image (Eq. 1, eps 0.1) and word substitution on the text (Eq. 2, threshold
0.5), and shows them the way the paper's Figures 4 and 5 do: the image before and after,
and the tweet with its substituted words marked.
"""

# %%
# A model to attack
# -----------------
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.offsetbox import AnchoredOffsetbox, HPacker, TextArea, VPacker
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skmmat import (
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
    make_crisis_tweets,
)
from skmmat.adversarial import craft_adversarial

df = make_crisis_tweets(400, random_state=1)
X, y = df[["image", "text"]], df["label"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
mmn = make_pipeline(
    ImageResizer(size=(64, 64)),
    GloveSequencer(),
    MultiModalCNNClassifier(max_epochs=5, lr=1e-3, batch_size=16, patience=None, random_state=0),
)
mmn.fit(X_train, y_train)
print(f"clean test accuracy: {mmn.score(X_test, y_test):.3f}")

# %%
# Crafting the examples
# ---------------------
# The attack works on the preprocessed frame: ``mmn[:-1]`` is the preprocessing,
# ``mmn[-1]`` the classifier. :func:`~skmmat.adversarial.craft_adversarial` perturbs both
# modalities from one gradient; the ``tokens`` column written by
# :class:`~skmmat.GloveSequencer` is rewritten with the substituted words.
Xt = mmn[:-1].transform(X_test)
clf = mmn[-1]
X_adv = craft_adversarial(
    clf,
    Xt,
    y_test,
    image_perturber=FGSMPerturber(eps=0.1),
    text_perturber=WordSubstitutionPerturber(threshold=0.5),
)
proba, proba_adv = clf.predict_proba(Xt), clf.predict_proba(X_adv)
pred, pred_adv = clf.classes_[proba.argmax(1)], clf.classes_[proba_adv.argmax(1)]
print(f"adversarial test accuracy: {np.mean(pred_adv == y_test):.3f}")


def substituted(i):
    """Positions of the i-th tweet whose word the attack replaced."""
    before, after = Xt["tokens"].iloc[i], X_adv["tokens"].iloc[i]
    return [j for j, (b, a) in enumerate(zip(before, after)) if a != b]


n_changed = np.array([len(substituted(i)) for i in range(len(Xt))])
n_words = np.array([len(t) for t in Xt["tokens"]])
print(f"words substituted per tweet: {n_changed.mean():.1f} of {n_words.mean():.1f} on average")

# %%
# One informative and one not-informative tweet whose prediction the attack flipped
# (or, failing that, whose confidence in the true class fell the most).
true_idx = np.searchsorted(clf.classes_, y_test)
drop = proba[np.arange(len(y_test)), true_idx] - proba_adv[np.arange(len(y_test)), true_idx]
flipped = (pred == y_test) & (pred_adv != y_test)
chosen = []
for label in clf.classes_:
    rows = np.flatnonzero(y_test == label)
    score = drop[rows] + flipped[rows]  # flipped first, then by the drop in confidence
    chosen.append(rows[np.argmax(score)])


def show(name, text):
    """Print ``text`` wrapped at 72 characters under ``name``."""
    print(textwrap.fill(text, 72, initial_indent=f"  {name:<11}: ", subsequent_indent=" " * 15))


for i in chosen:
    marked = [f"[{w}]" if j in substituted(i) else w for j, w in enumerate(X_adv["tokens"].iloc[i])]
    print(f"\ntrue label: {y_test[i]}")
    show("original", X_test["text"].iloc[i])
    show("tokens", " ".join(Xt["tokens"].iloc[i]))
    show("adversarial", " ".join(marked))
    print(
        f"  prediction : {pred[i]} ({proba[i].max():.1%}) -> "
        f"{pred_adv[i]} ({proba_adv[i].max():.1%})"
    )

# %%
# Images and tweets, before and after
# -----------------------------------
# The perturbation is :math:`\pm 0.1` on every pixel and channel (shown amplified in the
# third column); the substituted words are in red. Unlike the paper's examples, the
# adversarial tweet need not keep the original's meaning: Eq. 2 takes any of a word's 10
# nearest GloVe neighbours that moves far enough along the gradient, whatever it means.
# The model changes its mind all the same.


def tweet_box(ax, words, changed, title):
    """Draw a tweet word by word in ``ax``, the words in ``changed`` in red, wrapped."""
    lines, line = [], []
    for j, word in enumerate(words):
        colour, weight = ("#b00020", "bold") if j in changed else ("black", "normal")
        line.append(TextArea(word, textprops={"color": colour, "weight": weight, "size": 12}))
        if len(line) == 5:
            lines.append(HPacker(children=line, pad=0, sep=5))
            line = []
    if line:
        lines.append(HPacker(children=line, pad=0, sep=5))
    header = TextArea(title, textprops={"size": 12, "style": "italic"})
    box = VPacker(children=[header, *lines], pad=0, sep=4)
    ax.add_artist(AnchoredOffsetbox(loc="upper left", child=box, frameon=False, pad=0))
    ax.axis("off")


fig = plt.figure(figsize=(8, 4.4 * len(chosen)), layout="constrained")
for sub, i in zip(fig.subfigures(len(chosen), 1), chosen):
    pictures, tweets = sub.subfigures(2, 1, height_ratios=[2.6, 1])
    row = pictures.subplots(1, 3)
    image, image_adv = Xt["image"].iloc[i], X_adv["image"].iloc[i]
    row[0].imshow(image)
    row[0].set_title(f"original: {pred[i]}\n({proba[i].max():.0%})", fontsize=12)
    row[1].imshow(image_adv)
    row[1].set_title(f"adversarial: {pred_adv[i]}\n({proba_adv[i].max():.0%})", fontsize=12)
    row[2].imshow(np.clip(0.5 + (image_adv - image) / 0.2, 0, 1))
    row[2].set_title("perturbation\n(amplified)", fontsize=12)
    for ax in row:
        ax.set_xticks([])
        ax.set_yticks([])
    before, after = tweets.subplots(1, 2)
    tweet_box(before, Xt["tokens"].iloc[i], [], f"tweet (true label: {y_test[i]})")
    tweet_box(after, X_adv["tokens"].iloc[i], substituted(i), "adversarial tweet")
    pictures.suptitle(f"test tweet {i}", fontsize=13, weight="bold")

# %%
# How strong is each attack?
# --------------------------
# Accuracy under the image attack alone as ``eps`` grows, and under the text attack alone
# as the substitution threshold falls (``eps=0`` and a threshold above any projection
# leave the tweets clean). A network trained this briefly leans on the words, which it
# learns first, so the text attack does most of the damage here; a network that has
# learnt to read the images is hurt by the image attack too (the paper's Visual-CNN
# loses about 40 points to it).
eps_values = [0.0, 0.02, 0.05, 0.1, 0.2]
image_acc = [
    clf.score(FGSMPerturber(clf, eps=eps).fit(Xt).craft(Xt, y_test), y_test) for eps in eps_values
]
thresholds = [2.0, 1.0, 0.5, 0.25, 0.0]
text_acc = [
    clf.score(WordSubstitutionPerturber(clf, threshold=t).fit(Xt).craft(Xt, y_test), y_test)
    for t in thresholds
]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
ax1.plot(eps_values, image_acc, "o-", color="#2a6f97")
ax1.set_xlabel("FGSM eps (pixel scale)")
ax1.set_ylabel("test accuracy")
ax1.set_title("image attack (Eq. 1)")
ax2.plot(thresholds, text_acc, "o-", color="#c44e52")
ax2.invert_xaxis()
ax2.set_xlabel("substitution threshold")
ax2.set_title("text attack (Eq. 2)")
ax1.set_ylim(0, 1)
fig.tight_layout()
plt.show()
