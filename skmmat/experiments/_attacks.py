"""The strongest attacks of the threat model, for a model's modalities."""

from __future__ import annotations

from ..adversarial import FGSMPerturber, WordSubstitutionPerturber

__all__ = ["STRONGEST_BUDGET", "strongest_attacks"]

#: the text budget of the strongest attacks by default: words substituted per tweet
STRONGEST_BUDGET = 3


def strongest_attacks(
    modalities,
    *,
    eps=0.1,
    threshold=0.5,
    vectors="glove-6b-50d",
    n_restarts=5,
    max_substitutions=STRONGEST_BUDGET,
    random_state=None,
):
    """The attacks whose per-tweet worst case scores a model's robustness.

    The strongest attacks skmmat has within the threat model
    (:doc:`/user_guide/threat_model`), as items for the ``attacks`` parameter
    of :func:`skmmat.metrics.adversarial_predictions` and the other robust
    metrics, which score them as one worst case (a tweet counts as robust
    only if every attack leaves it right):

    * images: PGD-10 from ``n_restarts`` random starts in the ``eps`` ball;
    * texts alone: the paper's Eq. 2, three Eq. 2 steps within
      ``max_substitutions`` words, and the query-only greedy search within
      ``max_substitutions`` words;
    * both: the image PGD, the joint attack (the PGD and three Eq. 2 steps
      within ``max_substitutions`` words, one gradient per step for both
      modalities) and the greedy text search.

    Parameters
    ----------
    modalities : sequence of {"image", "text"}
        The modalities the attacked model reads.
    eps : float, default=0.1
        Radius of the image ball and Eq. 2's perturbation scale.
    threshold : float, default=0.5
        Eq. 2's threshold.
    vectors : str, path-like or mapping, default="glove-6b-50d"
        Word-vector table of the text attacks (the model's).
    n_restarts : int, default=5
        Random starts of the image PGD; each tweet keeps its strongest.
    max_substitutions : int or float, default=3
        Text budget of the iterative and greedy searches.
    random_state : int or None, default=None
        Seed of the PGD's random starts.

    Returns
    -------
    attacks : dict of str -> dict
        Each attack by name, an item for ``attacks=``; ``list(attacks.values())``
        is the worst case.

    Examples
    --------
    >>> from skmmat.experiments import strongest_attacks
    >>> list(strongest_attacks(["text"]))
    ['Eq. 2', 'Eq. 2, 3 steps, 3 words', 'greedy, 3 words']
    >>> list(strongest_attacks(["image", "text"], n_restarts=2))
    ['PGD-10, 2 starts', 'joint PGD-10 + Eq. 2, 3 steps, 3 words', 'greedy, 3 words']
    """
    modalities = set(modalities)
    if not modalities or modalities - {"image", "text"}:
        raise ValueError(f"modalities must hold 'image' and/or 'text', got {sorted(modalities)!r}.")
    words = {"vectors": vectors, "eps": eps, "threshold": threshold}
    steps = WordSubstitutionPerturber(n_iter=3, max_substitutions=max_substitutions, **words)
    budget = f"{max_substitutions} word" + ("s" if max_substitutions != 1 else "")
    out = {}
    if "image" in modalities:
        pgd = FGSMPerturber(
            eps=eps, n_iter=10, random_start=True, n_restarts=n_restarts, random_state=random_state
        )
        starts = f"{n_restarts} start" + ("s" if n_restarts > 1 else "")
        out[f"PGD-10, {starts}"] = {"image_perturber": pgd}
        if "text" in modalities:
            out[f"joint PGD-10 + Eq. 2, 3 steps, {budget}"] = {
                "image_perturber": pgd,
                "text_perturber": steps,
                "joint": True,
            }
    elif "text" in modalities:
        out["Eq. 2"] = {"text_perturber": WordSubstitutionPerturber(**words)}
        out[f"Eq. 2, 3 steps, {budget}"] = {"text_perturber": steps}
    if "text" in modalities:
        greedy = WordSubstitutionPerturber(
            search="greedy", max_substitutions=max_substitutions, **words
        )
        out[f"greedy, {budget}"] = {"text_perturber": greedy}
    return out
