"""skmmat.experiments.strongest_attacks: the worst case the benchmarks score."""

import pytest

from skmmat import FGSMPerturber, WordSubstitutionPerturber
from skmmat.experiments import strongest_attacks


def test_text_models_get_eq2_its_iterative_form_and_the_greedy_search():
    attacks = strongest_attacks(["text"], eps=0.2, threshold=0.4, max_substitutions=2)
    assert list(attacks) == ["Eq. 2", "Eq. 2, 3 steps, 2 words", "greedy, 2 words"]
    eq2, steps, greedy = (a["text_perturber"] for a in attacks.values())
    assert all(set(a) == {"text_perturber"} for a in attacks.values())  # images stay clean
    assert (eq2.n_iter, eq2.max_substitutions, eq2.search) == (1, None, "gradient")
    assert (steps.n_iter, steps.max_substitutions) == (3, 2)
    assert (greedy.search, greedy.max_substitutions) == ("greedy", 2)
    for p in (eq2, steps, greedy):
        assert isinstance(p, WordSubstitutionPerturber)
        assert (p.eps, p.threshold, p.vectors) == (0.2, 0.4, "glove-6b-50d")


def test_image_models_get_pgd_with_restarts():
    attacks = strongest_attacks(["image"], eps=0.05, n_restarts=1, random_state=3)
    assert list(attacks) == ["PGD-10, 1 start"]
    (pgd,) = (a["image_perturber"] for a in attacks.values())
    assert isinstance(pgd, FGSMPerturber)
    assert (pgd.eps, pgd.n_iter, pgd.random_start, pgd.n_restarts, pgd.random_state) == (
        0.05,
        10,
        True,
        1,
        3,
    )


def test_multimodal_models_get_the_joint_attack_and_the_greedy_search():
    attacks = strongest_attacks(("text", "image"), random_state=0)
    assert list(attacks) == [
        "PGD-10, 5 starts",
        "joint PGD-10 + Eq. 2, 3 steps, 3 words",
        "greedy, 3 words",
    ]
    pgd, joint, greedy = attacks.values()
    assert joint["joint"] is True and joint["image_perturber"] is pgd["image_perturber"]
    assert joint["text_perturber"].n_iter == 3 and "image_perturber" not in greedy


@pytest.mark.parametrize("modalities", [[], ["audio"], ["text", "video"]])
def test_unknown_modalities_are_named(modalities):
    with pytest.raises(ValueError, match="modalities must hold 'image' and/or 'text'"):
        strongest_attacks(modalities)
