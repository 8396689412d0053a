"""
Grid search and leave-one-disaster-out evaluation
=================================================

Every skmmat step is a scikit-learn estimator, so the tools of
:mod:`sklearn.model_selection` apply as they are:

* :class:`~sklearn.model_selection.GridSearchCV` tunes transformer and classifier
  parameters together, scored on clean accuracy **and** on adversarial accuracy with
  :func:`skmmat.metrics.make_adversarial_scorer`, and keeps the most robust model;
* :func:`~sklearn.model_selection.cross_validate` with
  :class:`~sklearn.model_selection.LeaveOneGroupOut` over the ``event`` column holds one
  disaster out per fold: does a model trained on three disasters work on a fourth?

Small data (400 demo tweets, 32 x 32 images, five epochs) keep the example quick.
"""

# %%
# Data and pipeline
# -----------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline

from skmmat import GloveSequencer, ImageResizer, MultiModalCNNClassifier, make_crisis_tweets
from skmmat.metrics import make_adversarial_scorer

df = make_crisis_tweets(400, n_events=4, random_state=0)
X, y, groups = df[["image", "text"]], df["label"], df["event"]
print(groups.value_counts())

pipe = make_pipeline(
    ImageResizer(size=(32, 32)),
    GloveSequencer(),
    MultiModalCNNClassifier(max_epochs=5, lr=3e-3, batch_size=16, patience=None, random_state=0),
)

# %%
# Grid search with the adversarial scorer
# ---------------------------------------
# Parameters of any step are reached by ``<step name>__<parameter>``. The scorer crafts
# adversarial examples against each fitted candidate (white-box) and returns its accuracy
# on them; ``refit="adversarial"`` keeps the most robust candidate, not the most accurate.
scoring = {"accuracy": "accuracy", "adversarial": make_adversarial_scorer()}
param_grid = {
    "glovesequencer__max_len": [8, 15],
    "multimodalcnnclassifier__hidden_units": [32, 64],
}
search = GridSearchCV(pipe, param_grid, scoring=scoring, refit="adversarial", cv=2)
search.fit(X, y)

results = pd.DataFrame(search.cv_results_)
columns = ["param_glovesequencer__max_len", "param_multimodalcnnclassifier__hidden_units"]
short = {
    columns[0]: "max_len",
    columns[1]: "hidden_units",
    "mean_test_accuracy": "accuracy",
    "mean_test_adversarial": "adversarial",
}
print(results[list(short)].rename(columns=short).to_string())
print("most robust:", search.best_params_)

# %%
# Clean and adversarial accuracy of each candidate. Robustness and accuracy need not
# agree, which is why the refit criterion matters.
names = [f"max_len={m}\nhidden={h}" for m, h in zip(results[columns[0]], results[columns[1]])]
x = np.arange(len(names))
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.bar(x - 0.18, results["mean_test_accuracy"], width=0.36, label="clean", color="#9aa5b1")
ax.bar(x + 0.18, results["mean_test_adversarial"], width=0.36, label="adversarial", color="#c44e52")
ax.set_xticks(x, names)
ax.set_ylim(0, 1)
ax.set_ylabel("mean CV accuracy")
ax.set_title("Grid search, scored on clean and adversarial accuracy")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# One disaster held out per fold
# ------------------------------
# ``groups=df["event"]`` with :class:`~sklearn.model_selection.LeaveOneGroupOut` trains
# on three disasters and tests on the fourth, for each disaster in turn.
best = search.best_estimator_
cv = LeaveOneGroupOut()
scores = cross_validate(best, X, y, groups=groups, cv=cv, scoring=scoring)
events = [groups.iloc[test].iloc[0] for _, test in cv.split(X, y, groups)]
per_event = pd.DataFrame(
    {
        "event": events,
        "clean": scores["test_accuracy"],
        "adversarial": scores["test_adversarial"],
    }
)
print(per_event.round(3).to_string())

fig, ax = plt.subplots(figsize=(7, 3.6))
x = np.arange(len(events))
ax.bar(x - 0.18, per_event["clean"], width=0.36, label="clean", color="#9aa5b1")
ax.bar(x + 0.18, per_event["adversarial"], width=0.36, label="adversarial", color="#c44e52")
ax.set_xticks(x, [e.replace("_", "\n") for e in events])
ax.set_ylim(0, 1)
ax.set_ylabel("accuracy on the held-out disaster")
ax.set_title("Leave one disaster out")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
