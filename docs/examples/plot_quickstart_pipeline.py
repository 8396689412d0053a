"""
A first MMAT pipeline
=====================

Build the paper's multi-modal network (MMN) as a scikit-learn pipeline, measure its
accuracy on clean and on adversarial tweets, then train it adversarially (MMAT, the
paper's Algorithm 1) and measure again.

The data are the embedded demo tweets of :func:`skmmat.make_crisis_tweets`: an image and
a text per row, labelled *informative* or *not informative*, shaped like CrisisMMD. To
stay quick the example uses 400 tweets, 32 x 32 images and five epochs; the paper uses
64 x 64 images and trains to early stopping.
"""

# %%
# The data
# --------
# One row per tweet; ``image`` holds uint8 arrays, ``text`` the raw tweet.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skmmat import (
    AdversarialAugmentationWrapper,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    make_crisis_tweets,
)
from skmmat.metrics import adversarial_accuracy

df = make_crisis_tweets(400, random_state=0)
print(df[["event", "label", "text"]].head().to_string(max_colwidth=60))

X, y = df[["image", "text"]], df["label"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# The multi-modal network
# -----------------------
# :class:`~skmmat.ImageResizer` turns each image into floats in [0, 1],
# :class:`~skmmat.GloveSequencer` each text into its first 15 words as GloVe vectors, and
# :class:`~skmmat.MultiModalCNNClassifier` is the Visual-CNN + Text-CNN network. With so
# few rows, early stopping is off (``patience=None``): a validation split would hold a
# handful of tweets.
classifier = MultiModalCNNClassifier(
    max_epochs=5, lr=3e-3, batch_size=16, patience=None, random_state=0
)
mmn = make_pipeline(ImageResizer(size=(32, 32)), GloveSequencer(), classifier)
mmn.fit(X_train, y_train)
mmn_clean = mmn.score(X_test, y_test)
print(f"MMN accuracy on clean test tweets: {mmn_clean:.3f}")

# %%
# Under attack
# ------------
# :func:`~skmmat.metrics.adversarial_accuracy` crafts one adversarial example per test
# tweet against the model (FGSM with eps 0.1 on the image, Eq. 1; word substitution
# with threshold 0.5 on the text, Eq. 2) and scores the model on them.
mmn_adv = adversarial_accuracy(mmn, X_test, y_test)
print(f"MMN accuracy on adversarial test tweets: {mmn_adv:.3f}")

# %%
# Adversarial training
# --------------------
# :class:`~skmmat.AdversarialAugmentationWrapper` trains the classifier, crafts an
# adversarial copy of every training tweet against it, and retrains on both. Its
# ``initial_estimator_`` is the clean model of the first step.
mmat = make_pipeline(
    ImageResizer(size=(32, 32)),
    GloveSequencer(),
    AdversarialAugmentationWrapper(classifier, random_state=0),
)
mmat.fit(X_train, y_train)
wrapper = mmat[-1]
print(wrapper.rounds_)

mmat_clean = mmat.score(X_test, y_test)
# examples crafted against MMAT itself (white-box) ...
mmat_white_box = adversarial_accuracy(mmat, X_test, y_test)
# ... and against the plain model MMAT started from (transfer, the paper's Table I)
mmat_transfer = adversarial_accuracy(mmat, X_test, y_test, against=wrapper.initial_estimator_)
print(f"MMAT: clean {mmat_clean:.3f}, white-box {mmat_white_box:.3f}, transfer {mmat_transfer:.3f}")

# %%
# The picture
# -----------
# Adversarial training wins back the accuracy lost to the plain model's adversarial
# examples (transfer). Against a white-box attack on the retrained model itself it
# helps far less: one round of Algorithm 1 protects against the examples it was trained
# on, not against new ones (see the user guide on adversarial training).
labels = ["clean", "adversarial\n(white-box)", "adversarial\n(from plain MMN)"]
mmn_scores = [mmn_clean, mmn_adv, np.nan]
mmat_scores = [mmat_clean, mmat_white_box, mmat_transfer]
x = np.arange(len(labels))
fig, ax = plt.subplots(figsize=(7, 3.8))
bars_mmn = ax.bar(x - 0.18, mmn_scores, width=0.36, label="MMN", color="#9aa5b1")
bars_mmat = ax.bar(x + 0.18, mmat_scores, width=0.36, label="MMAT", color="#2a6f97")
ax.bar_label(bars_mmn, fmt="%.2f", padding=2)
ax.bar_label(bars_mmat, fmt="%.2f", padding=2)
ax.set_xticks(x, labels)
ax.set_ylim(0, 1.05)
ax.set_ylabel("test accuracy")
ax.set_title("MMN and MMAT on the demo tweets")
ax.legend(loc="lower left")
fig.tight_layout()
plt.show()
