"""The multi-step attack: steps from one gradient per step, and random restarts.

One engine runs every gradient attack of a block of rows: PGD on images
(:class:`~skmmat.FGSMPerturber` with ``n_iter > 1`` or a random start),
iterative Eq. 2 on texts (:class:`~skmmat.WordSubstitutionPerturber` with
``search="gradient"``), and both at once (the joint attack of
:func:`~skmmat.adversarial.craft_adversarial`). Each modality's attack is a
*step state* of its perturber (``ImageSteps``, ``TextSteps``) with this
protocol:

* ``modality``, ``n_iter`` and ``random_start`` (whether ``start`` draws);
* ``start(rng)``: back to the attack's starting point (a random start draws
  from ``rng``);
* ``is_open``: whether a step could still change anything;
* ``current``: the column's current array, fed to the gradient;
* ``step(grad)``: one step from the gradient of its modality; returns
  whether anything changed;
* ``result()`` and ``load(result)``: the state's arrays (rows first), to
  keep the strongest restart of each row;
* ``columns()``: the crafted cells, ``{column: cells}``.

Each step computes ONE loss gradient at the current joint point (every
attacked modality as it is now) and moves every attack that still has steps
left from it.
"""

from __future__ import annotations

import numpy as np

from ._base import as_cells, class_indices

__all__ = ["restart_streams", "run_steps"]


def restart_streams(rng, n_restarts):
    """The random streams of ``n_restarts`` starts, the first being ``rng`` itself.

    The other streams are seeded from ``rng``'s state without drawing from
    it, so the first restart is exactly the single-start attack of the same
    seed, and every stream is drawn from block after block (crafting by
    blocks gives the result of crafting all rows at once).

    Parameters
    ----------
    rng : numpy.random.RandomState
    n_restarts : int

    Returns
    -------
    streams : list of RandomState
    """
    if n_restarts == 1:
        return [rng]
    _, keys, pos, *_ = rng.get_state()
    entropy = [int(k) for k in keys] + [int(pos)]
    return [rng] + [
        np.random.RandomState(np.random.MT19937(np.random.SeedSequence(entropy, spawn_key=(r,))))
        for r in range(1, n_restarts)
    ]


def run_steps(estimator, X, y, attacks, streams=(None,), gradient=None):
    """Run the step states ``attacks`` on the block ``X``, in place.

    Every start of ``streams`` runs ``max(n_iter)`` steps; each step takes
    one ``loss_gradient`` at the current joint point, and every attack with
    steps left moves from it. The loop stops early once no attack moves
    (a step that changes nothing would meet the same gradient again). With
    several starts, each row keeps the start whose result the model
    misclassifies, else the one with the highest loss (the lowest
    probability of the target class): one ``predict_proba`` per start.

    Parameters
    ----------
    estimator : fitted estimator with ``loss_gradient``
        (and ``predict_proba`` and ``classes_`` when there are several starts).
    X : pandas.DataFrame
        The block's clean frame.
    y : ndarray or None
        Labels of the loss; None: the model's predictions at the clean input
        (fixed once when the attack takes more than one gradient).
    attacks : list of step states
    streams : sequence of RandomState or None, default=(None,)
        One per start.
    gradient : dict, optional
        ``loss_gradient(X, y)`` at the clean input, used for the first step
        when no attack starts at random.
    """
    single = len(streams) == 1 and all(a.n_iter == 1 and not a.random_start for a in attacks)
    if y is None and not single:  # fix the targets once: the clean input's predictions
        y = estimator.predict(X)
    given = gradient if not any(a.random_start for a in attacks) else None
    n_steps = max(a.n_iter for a in attacks)
    best = None
    for rng in streams:
        for attack in attacks:
            attack.start(rng)
        for step in range(n_steps):
            moving = [a for a in attacks if step < a.n_iter and a.is_open]
            if not moving:
                break
            if step == 0 and given is not None and all(a.modality in given for a in moving):
                grad = given
            else:
                grad = estimator.loss_gradient(_frame(X, attacks), y)
            changed = [attack.step(grad[attack.modality]) for attack in moving]
            if not any(changed):
                break
        if len(streams) > 1:
            best = _keep_stronger(estimator, X, y, attacks, best)
    if best is not None:
        for attack, result in zip(attacks, best[2], strict=True):
            attack.load(result)


def _frame(X, attacks):
    """``X`` with every attacked column at its current value."""
    out = X.copy()
    for attack in attacks:
        out[attack.modality] = as_cells(attack.current)
    return out


def _keep_stronger(estimator, X, y, attacks, best):
    """The per-row strongest of ``best`` and the attacks' current results."""
    proba = estimator.predict_proba(_frame(X, attacks))
    target = class_indices(estimator, y)
    p = proba[np.arange(len(target)), target]
    wrong = proba.argmax(axis=1) != target
    results = [attack.result() for attack in attacks]
    if best is None:
        return wrong, p, results
    best_wrong, best_p, best_results = best
    better = (wrong & ~best_wrong) | ((wrong == best_wrong) & (p < best_p))
    for kept, new in zip(best_results, results, strict=True):
        for key, values in kept.items():
            values[better] = new[key][better]
    return np.where(better, wrong, best_wrong), np.where(better, p, best_p), best_results
