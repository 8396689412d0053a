"""The paper's Table I experiment: six models, clean and adversarial accuracy.

Used by ``skmmat demo``, ``skmmat table1`` and ``benchmarks/table1.py``;
built from the public API only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from .adversarial import AdversarialAugmentationWrapper, FGSMPerturber, WordSubstitutionPerturber
from .metrics import adversarial_accuracy
from .models import MultiModalCNNClassifier
from .preprocessing import GloveSequencer, ImageResizer

__all__ = [
    "PAPER_TABLE1",
    "TABLE1_MODELS",
    "Table1Result",
    "format_table",
    "make_table1_model",
    "run_table1",
]

#: Table I's six columns: name -> (modalities, adversarially trained, label)
TABLE1_MODELS = {
    "visual_cnn": (("image",), False, "Visual-CNN"),
    "visual_cnn_adv": (("image",), True, "Visual-CNN_adv"),
    "text_cnn": (("text",), False, "Text-CNN"),
    "text_cnn_adv": (("text",), True, "Text-CNN_adv"),
    "mmn": (("image", "text"), False, "MMN"),
    "mmat": (("image", "text"), True, "MMAT"),
}

#: The paper's Table I: event -> model -> (original %, adversarial %).
PAPER_TABLE1 = {
    "california_wildfires": {
        "visual_cnn": (86.16, 45.91),
        "visual_cnn_adv": (85.53, 82.39),
        "text_cnn": (86.79, 76.73),
        "text_cnn_adv": (87.42, 84.28),
        "mmn": (88.68, 67.30),
        "mmat": (88.05, 88.05),
    },
    "hurricane_harvey": {
        "visual_cnn": (80.67, 35.51),
        "visual_cnn_adv": (80.22, 78.43),
        "text_cnn": (88.09, 73.26),
        "text_cnn_adv": (88.09, 86.07),
        "mmn": (89.21, 73.26),
        "mmat": (87.42, 84.04),
    },
    "mexico_earthquake": {
        "visual_cnn": (72.66, 30.94),
        "visual_cnn_adv": (75.54, 71.94),
        "text_cnn": (82.73, 71.94),
        "text_cnn_adv": (84.89, 78.42),
        "mmn": (84.89, 58.71),
        "mmat": (86.33, 79.86),
    },
    "srilanka_floods": {
        "visual_cnn": (67.96, 36.89),
        "visual_cnn_adv": (66.02, 66.02),
        "text_cnn": (92.23, 80.85),
        "text_cnn_adv": (92.23, 89.32),
        "mmn": (93.20, 79.61),
        "mmat": (93.20, 89.32),
    },
}

#: the plain model each adversarially trained one is compared with
PLAIN_COUNTERPART = {"visual_cnn_adv": "visual_cnn", "text_cnn_adv": "text_cnn", "mmat": "mmn"}


def _check_name(name):
    if name not in TABLE1_MODELS:
        raise ValueError(f"Unknown model {name!r}; choose from {list(TABLE1_MODELS)}.")
    return TABLE1_MODELS[name]


def make_table1_model(
    name,
    *,
    eps=0.1,
    threshold=0.5,
    n_rounds=1,
    warm_start=False,
    random_state=None,
    image_size=(64, 64),
    vectors="glove-6b-50d",
    preprocessing=True,
    **classifier_params,
):
    """One of Table I's six models with the paper's hyper-parameters.

    Parameters
    ----------
    name : {"visual_cnn", "visual_cnn_adv", "text_cnn", "text_cnn_adv", "mmn", "mmat"}
        The column of Table I.
    eps : float, default=0.1
        FGSM step (images) and text perturbation scale of the ``_adv``
        models and MMAT.
    threshold : float, default=0.5
        Word-substitution threshold (Equation 2).
    n_rounds : int, default=1
        Rounds of adversarial training (1 is the paper's Algorithm 1).
    warm_start : bool, default=False
        The wrapper's ``warm_start``: each round continues training the
        current model instead of training a new one. With ``n_rounds > 1``
        this is what buys robustness against a white-box attacker (see
        :class:`~skmmat.AdversarialAugmentationWrapper`).
    random_state : int, optional
        Seed of the classifier (and of the wrapper for adversarial models).
    image_size : tuple of int, default=(64, 64)
        ImageResizer output size.
    vectors : str, path-like or mapping, default="glove-6b-50d"
        Word-vector table of the sequencer and the text perturber.
    preprocessing : bool, default=True
        Prepend ImageResizer / GloveSequencer for the modalities in use.
        With False the model expects already preprocessed frames.
    **classifier_params
        Passed to :class:`~skmmat.MultiModalCNNClassifier` (e.g.
        ``max_epochs``, ``hidden_units``).

    Returns
    -------
    model : Pipeline or estimator

    Examples
    --------
    >>> from skmmat.experiments import make_table1_model
    >>> make_table1_model("text_cnn_adv", max_epochs=5).steps[-1][0]
    'adversarialaugmentationwrapper'
    """
    modalities, adversarial, _ = _check_name(name)
    clf = MultiModalCNNClassifier(
        modalities=modalities, random_state=random_state, **classifier_params
    )
    model = clf
    if adversarial:
        model = AdversarialAugmentationWrapper(
            clf,
            image_perturber=FGSMPerturber(eps=eps),
            text_perturber=WordSubstitutionPerturber(vectors=vectors, eps=eps, threshold=threshold),
            n_rounds=n_rounds,
            warm_start=warm_start,
            random_state=random_state,
        )
    if not preprocessing:
        return model
    steps = []
    if "image" in modalities:
        steps.append(("imageresizer", ImageResizer(size=image_size)))
    if "text" in modalities:
        steps.append(("glovesequencer", GloveSequencer(vectors=vectors)))
    steps.append((type(model).__name__.lower(), model))
    return Pipeline(steps)


@dataclass
class Table1Result:
    """One model's row of Table I.

    Attributes
    ----------
    model : str
        Model name (a key of :data:`TABLE1_MODELS`).
    clean_accuracy : float
        Accuracy on the original test set.
    adversarial_accuracy : float
        Accuracy on adversarial test examples crafted white-box against this
        very model with the training attack (FGSM eps 0.1, Equation 2).
    transfer_accuracy : float
        Accuracy on adversarial examples crafted against the plain
        counterpart (for plain models: equal to ``adversarial_accuracy``);
        the paper's likely protocol for its ``_adv`` and MMAT columns.
    pgd_accuracy : float or None
        Accuracy under a 10-step iterative image attack (plus Equation 2 on
        text), when requested.
    fit_seconds : float
        Training time.
    estimator : object
        The fitted model (not serialised in JSON records).
    """

    model: str
    clean_accuracy: float
    adversarial_accuracy: float
    transfer_accuracy: float
    pgd_accuracy: float | None
    fit_seconds: float
    estimator: object = None

    def record(self):
        """dict of the JSON-serialisable fields."""
        return {k: v for k, v in self.__dict__.items() if k != "estimator"}


def run_table1(
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    models=tuple(TABLE1_MODELS),
    pgd=False,
    progress=False,
    vectors="glove-6b-50d",
    eps=0.1,
    threshold=0.5,
    fitted_plain=None,
    return_test_frame=False,
    **model_params,
):
    """Train and evaluate Table I's models on one train/test split.

    The raw frames are preprocessed once (ImageResizer, GloveSequencer for
    the modalities any requested model uses); every model is then trained on
    the preprocessed frame and evaluated on the clean test set, on white-box
    adversarial examples crafted against it, and on adversarial examples
    crafted against its plain counterpart (transfer).

    Parameters
    ----------
    X_train, X_test : pandas.DataFrame
        Raw frames with ``image`` and/or ``text`` columns.
    y_train, y_test : array-like
        Labels.
    models : sequence of str
        Keys of :data:`TABLE1_MODELS`. A plain counterpart of a requested
        adversarial model is trained too when needed for the transfer attack
        (and only trained: it is evaluated when requested itself).
    pgd : bool, default=False
        Also measure accuracy under a 10-step iterative attack.
    progress : bool, default=False
        Show a progress bar.
    vectors : str, path-like or mapping, default="glove-6b-50d"
        Word-vector table.
    eps, threshold : float
        Attack parameters (training and evaluation).
    fitted_plain : dict of str -> estimator, optional
        Plain models (``"visual_cnn"``, ``"text_cnn"``, ``"mmn"``) already
        trained on this split, for instance by an earlier call with another
        ``n_rounds`` (the ``estimator`` of its results). A counterpart found
        here is the transfer attack's source instead of a new fit; a
        requested model is always trained.
    return_test_frame : bool, default=False
        Also return the preprocessed test frame.
    **model_params
        Passed to :func:`make_table1_model` (``image_size``, ``n_rounds``,
        ``random_state``, classifier parameters).

    Returns
    -------
    results : dict of str -> Table1Result
        In the order of ``models``.
    X_test_preprocessed : pandas.DataFrame
        Only when ``return_test_frame`` is True.
    """
    models = [m for m in models]
    for name in models:
        _check_name(name)
    fitted = dict(fitted_plain or {})
    for name in fitted:
        if name not in PLAIN_COUNTERPART.values():
            raise ValueError(
                f"fitted_plain holds {name!r}; it takes plain models only: "
                f"{sorted(set(PLAIN_COUNTERPART.values()))}."
            )
    needed = list(
        dict.fromkeys(models + [PLAIN_COUNTERPART[m] for m in models if m in PLAIN_COUNTERPART])
    )
    needed.sort(key=list(TABLE1_MODELS).index)
    modalities = {mod for name in needed for mod in TABLE1_MODELS[name][0]}
    steps = []
    if "image" in modalities:
        steps.append(
            (
                "imageresizer",
                ImageResizer(size=model_params.get("image_size", (64, 64)), verbose=int(progress)),
            )
        )
    if "text" in modalities:
        steps.append(("glovesequencer", GloveSequencer(vectors=vectors)))
    prep = Pipeline(steps)
    Xtr = prep.fit_transform(X_train)
    Xte = prep.transform(X_test)
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    image_p = FGSMPerturber(eps=eps)
    text_p = WordSubstitutionPerturber(vectors=vectors, eps=eps, threshold=threshold)
    pgd_p = FGSMPerturber(eps=eps, n_iter=10)

    results = {}
    bar = tqdm(total=len(needed), desc="Table I", unit="model", disable=not progress)
    try:
        for name in needed:
            if name not in models and name in fitted:
                bar.update()  # a counterpart trained by an earlier call
                continue
            bar.set_postfix_str(f"training {TABLE1_MODELS[name][2]}")
            model = make_table1_model(
                name,
                verbose=2 if progress else 0,
                eps=eps,
                threshold=threshold,
                vectors=vectors,
                preprocessing=False,
                **model_params,
            )
            start = time.perf_counter()
            model.fit(Xtr, y_train)
            seconds = time.perf_counter() - start
            fitted[name] = model
            if name not in models:  # only the transfer attack's source
                bar.update()
                continue
            bar.set_postfix_str(f"attacking {TABLE1_MODELS[name][2]}")
            clean = float(np.mean(model.predict(Xte) == y_test))
            white_box = adversarial_accuracy(
                model, Xte, y_test, image_perturber=image_p, text_perturber=text_p
            )
            transfer = white_box
            if name in PLAIN_COUNTERPART:
                transfer = adversarial_accuracy(
                    model,
                    Xte,
                    y_test,
                    image_perturber=image_p,
                    text_perturber=text_p,
                    against=fitted[PLAIN_COUNTERPART[name]],
                )
            pgd_acc = None
            if pgd:
                pgd_acc = adversarial_accuracy(
                    model, Xte, y_test, image_perturber=pgd_p, text_perturber=text_p
                )
            results[name] = Table1Result(name, clean, white_box, transfer, pgd_acc, seconds, model)
            bar.update()
    finally:
        bar.close()
    results = {name: results[name] for name in models}
    return (results, Xte) if return_test_frame else results


def format_table(results, *, paper=None):
    """Table I as text: one row per model, accuracies in percent.

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
    header.append("fit s")
    if paper:
        header.append("paper orig/adv")
    rows = []
    for name, r in results.items():
        row = [
            TABLE1_MODELS[name][2],
            f"{100 * r.clean_accuracy:.1f}",
            f"{100 * r.adversarial_accuracy:.1f}",
            f"{100 * r.transfer_accuracy:.1f}" if name in PLAIN_COUNTERPART else "-",
        ]
        if "PGD-10" in header:
            row.append("-" if r.pgd_accuracy is None else f"{100 * r.pgd_accuracy:.1f}")
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
    return "\n".join(out)
