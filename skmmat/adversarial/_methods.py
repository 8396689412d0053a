"""The training methods of AdversarialAugmentationWrapper, and the parameters each one uses.

* ``"algorithm1"``: the paper's Algorithm 1, in rounds: fit, craft the
  adversarial half against the fitted model, refit on both halves.
* ``"in_loop"`` and ``"ibp"``: one fit through the classifier's training hook
  (:mod:`skmmat.adversarial._robust_loss`), which attacks
  (:class:`~skmmat.adversarial._in_loop.BatchAttack`) or bounds
  (:class:`~skmmat.adversarial._ibp.IntervalBoundLoss`) every training batch.
"""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._allocator import release_freed_memory
from ._base import estimator_modalities
from ._craft import craft_adversarial, resolve_perturbers
from ._ibp import make_interval_bound_loss
from ._in_loop import in_loop_image_perturber, make_batch_attack
from ._trades import TradesLoss

__all__ = [
    "HOOKS",
    "IN_LOOP_ATTACKS",
    "METHODS",
    "METHOD_PARAMS",
    "Seeder",
    "check_method_params",
    "fit_rounds",
    "fit_with_hook",
]

_DEFAULT = "default"
#: the column numbering each training row and its adversarial twin in a refit
PAIR_COLUMN = "_mmat_pair"


def _batch_attack(wrapper, image_p, text_p, X, modalities):
    return make_batch_attack(image_p, text_p, X, modalities, wrapper.adversarial_weight)


def _interval_bound_loss(wrapper, image_p, text_p, X, modalities):
    weight, ramp = wrapper.adversarial_weight, wrapper.ramp_epochs
    max_epochs = wrapper.estimator.get_params(deep=False).get("max_epochs")
    if max_epochs is not None and max_epochs < ramp:
        warnings.warn(
            f"{type(wrapper).__name__}: max_epochs={max_epochs} ends certified training "
            f"before its ramp of ramp_epochs={ramp} epochs: the box grows to "
            f"{max_epochs / ramp:.0%} of the threat model only, and certificates at its "
            "full size will be rare. Train for more epochs than ramp_epochs.",
            UserWarning,
            stacklevel=5,
        )
    return make_interval_bound_loss(image_p, text_p, X, modalities, weight, ramp)


def _trades_loss(wrapper, image_p, text_p, X, modalities):
    attack = make_batch_attack(image_p, text_p, X, modalities, 1.0)
    return TradesLoss(attack, wrapper.trades_beta)


#: the methods that train once through the classifier's training hook: name -> the factory
#: ``(wrapper, image_perturber, text_perturber, X, modalities) -> hook`` of their hook
HOOKS = {"in_loop": _batch_attack, "ibp": _interval_bound_loss, "trades": _trades_loss}
#: the methods whose attack runs in the training loop (default image attack: a random start)
IN_LOOP_ATTACKS = ("in_loop", "trades")
#: every method of the wrapper
METHODS = ("algorithm1", *HOOKS)

#: the wrapper's parameters that one method only uses: name -> (its methods, its default)
METHOD_PARAMS = {
    "n_rounds": (("algorithm1",), 1),
    "warm_start": (("algorithm1",), False),
    "attack_accuracy": (("algorithm1",), False),
    "adversarial_weight": (("in_loop", "ibp"), 0.5),
    "ramp_epochs": (("ibp",), 10),
    "trades_beta": (("trades",), 6.0),
}


def check_method_params(params, method, caller):
    """ValueError if a parameter of another method is set away from its default."""
    for name, (methods, default) in METHOD_PARAMS.items():
        if method not in methods and params[name] != default:
            uses = " and ".join(repr(m) for m in methods)
            raise ValueError(
                f"{caller}: {name}={params[name]!r} belongs to method={uses}; "
                f"method={method!r} does not use it (leave it at {default!r})."
            )


class Seeder:
    """One seed per inner fit, drawn from the wrapper's ``random_state``.

    A seed is drawn for every estimator, seeded or not, so that the stream
    is the same either way; an estimator is re-seeded only when the wrapper
    has a ``random_state`` and the estimator a ``random_state`` parameter.
    """

    def __init__(self, random_state):
        self.rng = check_random_state(random_state)
        self.active = random_state is not None

    def __call__(self, est):
        if est is None:
            return None
        seed = self.rng.randint(np.iinfo(np.int32).max)  # drawn always
        if self.active and "random_state" in est.get_params(deep=False):
            est = clone(est).set_params(random_state=int(seed))
        return est


def check_attacked(image_p, text_p, modalities, caller):
    """ValueError unless a perturber attacks a modality the estimator reads."""
    if not (
        (image_p is not None and "image" in modalities)
        or (text_p is not None and "text" in modalities)
    ):
        raise ValueError(
            f"{caller}: no perturber attacks the modalities the estimator reads "
            f"({list(modalities)}); set image_perturber or text_perturber."
        )


def template_modalities(estimator, caller):
    """Modalities an unfitted estimator will read (its ``modalities`` parameter)."""
    modalities = estimator.get_params(deep=False).get("modalities", ("image", "text"))
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if not modalities:
        raise ValueError(f"{caller}: the estimator reads no modality.")
    return modalities


def twin_groups(estimator, X_aug, n):
    """Keep each row and its adversarial twin on one side of the refit's validation split.

    Adds a column numbering the pairs to ``X_aug`` and returns the parameter
    that points the estimator's early stopping at it; an estimator without
    ``validation_groups``, or one that groups by a column of its own (whose
    values the twin copies), is left as it is.
    """
    if estimator.get_params(deep=False).get("validation_groups", False) is not None:
        return {}
    X_aug[PAIR_COLUMN] = np.tile(np.arange(n), 2)
    return {"validation_groups": PAIR_COLUMN}


def fit_rounds(wrapper, X, y, seed, templates):
    """Algorithm 1 in ``n_rounds`` rounds.

    Returns
    -------
    model, initial_model, rounds
    """
    name = type(wrapper).__name__
    model = seed(clone(wrapper.estimator)).fit(X, y)
    initial = model
    modalities = estimator_modalities(model)
    image_p, text_p = seed(templates[0]), seed(templates[1])
    check_attacked(image_p, text_p, modalities, name)
    X_clean = X.reset_index(drop=True)
    y_aug = np.concatenate([y, y])
    rounds = []
    for round_ in range(1, wrapper.n_rounds + 1):
        start = time.perf_counter()
        X_adv = craft_adversarial(model, X_clean, y, image_perturber=image_p, text_perturber=text_p)
        release_freed_memory()  # the crafting's blocks, before the passes over 2n rows
        attack_accuracy = None
        if wrapper.attack_accuracy:
            attack_accuracy = float(np.mean(model.predict(X_adv) == y))
        X_aug = pd.concat([X_clean, X_adv], ignore_index=True)
        twins = twin_groups(wrapper.estimator, X_aug, len(X_clean))
        if wrapper.warm_start:
            if model is initial:  # keep the clean model intact
                model = copy.deepcopy(model)
            model.set_params(warm_start=True, **twins).fit(X_aug, y_aug)
        else:
            model = seed(clone(wrapper.estimator))
            model.set_params(**twins).fit(X_aug, y_aug)
        rounds.append(
            {
                "round": round_,
                "n_samples": len(X_aug),
                "attack_accuracy": attack_accuracy,
                "seconds": time.perf_counter() - start,
            }
        )
        if wrapper.verbose:
            scored = (
                ""
                if attack_accuracy is None
                else f"accuracy under attack before retraining {attack_accuracy:.3f}, "
            )
            print(
                f"[{name}] round {round_}/{wrapper.n_rounds}: {scored}refit on "
                f"{len(X_aug)} rows ({rounds[-1]['seconds']:.1f} s)"
            )
    return model, initial, rounds


def fit_with_hook(wrapper, X, y, seed):
    """One fit through the classifier's training hook: every batch attacked, or bounded (IBP).

    Returns
    -------
    model, rounds
    """
    name = type(wrapper).__name__
    start = time.perf_counter()
    model = seed(clone(wrapper.estimator))
    modalities = template_modalities(model, name)
    # in the loop a single image step starts at random (Wong et al., 2020: a step of
    # 1.25 eps); evaluation's default stays the paper's FGSM
    image_template = wrapper.image_perturber
    is_default = isinstance(image_template, str) and image_template == _DEFAULT
    if wrapper.method in IN_LOOP_ATTACKS and is_default:
        image_template = in_loop_image_perturber()
    image_t, text_t = resolve_perturbers(image_template, wrapper.text_perturber, name)
    image_p, text_p = seed(image_t), seed(text_t)
    check_attacked(image_p, text_p, modalities, name)
    hook = HOOKS[wrapper.method](wrapper, image_p, text_p, X, modalities)
    model.set_params(batch_attack=hook).fit(X, y)
    model.set_params(batch_attack=None)  # a plain classifier from here on
    rounds = [
        {
            "round": 1,
            "n_samples": len(X),
            "attack_accuracy": None,
            "seconds": time.perf_counter() - start,
        }
    ]
    if wrapper.verbose:
        kind = "certified (IBP)" if wrapper.method == "ibp" else "in-loop"
        print(f"[{name}] {kind} training on {len(X)} rows ({rounds[0]['seconds']:.1f} s)")
    return model, rounds
