"""Training and evaluating Table I's models on one train/test split."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from ..adversarial import FGSMPerturber, WordSubstitutionPerturber
from ..metrics import prediction_scores
from ..preprocessing import GloveSequencer, ImageResizer
from ._attacks import STRONGEST_BUDGET, strongest_attacks
from ._card import attack_entry, attacked_scores, evaluation_card, threat_model, worst_case
from ._models import PLAIN_COUNTERPART, TABLE1_MODELS, check_name, make_table1_model

__all__ = ["Table1Result", "run_table1"]


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
    clean_macro_f1, adversarial_macro_f1, transfer_macro_f1, pgd_macro_f1 : float
        Macro-F1 beside each accuracy (``pgd_macro_f1`` is None without PGD).
    strongest_accuracy, strongest_macro_f1 : float or None
        Accuracy and macro-F1 under the per-tweet worst case of the
        strongest attacks of the threat model
        (:func:`~skmmat.experiments.strongest_attacks`), when requested.
    clean_balanced_accuracy : float
        Balanced accuracy on the original test set.
    one_class : bool
        Whether the model predicted one class for every original test tweet
        (a collapsed model: accurate at the majority rate, and unattackable).
    estimator : object
        The fitted model (not serialised in JSON records).
    card : dict
        The model card entries of this run, ``"training"`` (training rows)
        and ``"evaluation"`` (the scores above with their attacks and the
        threat model), for ``skmmat.save_model(result.estimator, path,
        card=result.card)``; not serialised in JSON records. The estimator
        takes preprocessed frames (see ``run_table1``).
    """

    model: str
    clean_accuracy: float
    adversarial_accuracy: float
    transfer_accuracy: float
    pgd_accuracy: float | None
    fit_seconds: float
    clean_macro_f1: float = None
    adversarial_macro_f1: float = None
    transfer_macro_f1: float = None
    pgd_macro_f1: float | None = None
    clean_balanced_accuracy: float = None
    one_class: bool = None
    strongest_accuracy: float | None = None
    strongest_macro_f1: float | None = None
    estimator: object = None
    card: dict = None

    def record(self):
        """dict of the JSON-serialisable fields."""
        return {k: v for k, v in self.__dict__.items() if k not in ("estimator", "card")}


def run_table1(
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    models=tuple(TABLE1_MODELS),
    pgd=False,
    strongest=False,
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
    strongest : bool, default=False
        Also measure accuracy and macro-F1 under the per-tweet worst case of
        :func:`~skmmat.experiments.strongest_attacks` for the model's
        modalities (PGD-10 from 5 random starts; Eq. 2, three Eq. 2 steps
        and the greedy search within 3 words; the joint attack), seeded by
        ``random_state``.
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
        check_name(name)
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
    text_p = WordSubstitutionPerturber(vectors=vectors, eps=eps, threshold=threshold)
    training_attack = {"image_perturber": FGSMPerturber(eps=eps), "text_perturber": text_p}
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
            clean = prediction_scores(y_test, model.predict(Xte))
            white_box = attacked_scores(model, Xte, y_test, **training_attack)
            transfer = white_box
            if name in PLAIN_COUNTERPART:
                against = fitted[PLAIN_COUNTERPART[name]]
                transfer = attacked_scores(model, Xte, y_test, **training_attack, against=against)
            pgd_scores = (None, None)
            if pgd:
                pgd_scores = attacked_scores(
                    model, Xte, y_test, image_perturber=pgd_p, text_perturber=text_p
                )
            worst = (None, None)
            if strongest:
                attacks = strongest_attacks(
                    TABLE1_MODELS[name][0],
                    eps=eps,
                    threshold=threshold,
                    vectors=vectors,
                    random_state=model_params.get("random_state"),
                )
                worst = attacked_scores(model, Xte, y_test, attacks=list(attacks.values()))
            entry = attack_entry
            attacked = {"white_box": entry(white_box, f"FGSM eps {eps} and Eq. 2, white-box")}
            if name in PLAIN_COUNTERPART:
                attacked["transfer"] = entry(transfer, "the same, crafted against the plain model")
            if pgd:
                attacked["pgd"] = entry(pgd_scores, "PGD-10 and Eq. 2, white-box")
            if strongest:
                attacked["strongest"] = entry(worst, worst_case(attacks))
            budget = STRONGEST_BUDGET if strongest else None
            evaluation = evaluation_card(
                len(y_test), clean, attacked, threat_model(eps, threshold, vectors, budget)
            )
            results[name] = Table1Result(
                name,
                clean["accuracy"],
                white_box[0],
                transfer[0],
                pgd_scores[0],
                seconds,
                clean_macro_f1=clean["macro_f1"],
                adversarial_macro_f1=white_box[1],
                transfer_macro_f1=transfer[1],
                pgd_macro_f1=pgd_scores[1],
                clean_balanced_accuracy=clean["balanced_accuracy"],
                one_class=clean["one_class"],
                strongest_accuracy=worst[0],
                strongest_macro_f1=worst[1],
                estimator=model,
                card={"training": {"rows": len(y_train)}, "evaluation": evaluation},
            )
            bar.update()
    finally:
        bar.close()
    results = {name: results[name] for name in models}
    return (results, Xte) if return_test_frame else results
