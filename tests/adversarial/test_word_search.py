"""The text threat model: substitution budgets, iterative and query-only searches.

Every attack here must stay inside the threat model: a position changes at
most once, to a word of its *original* word's candidate set (the exact
nearest neighbours in the real GloVe table), padding and unknown words never
change, and no tweet has more words replaced than its budget.
"""

import numpy as np
import pytest

from skmmat import WordSubstitutionPerturber
from skmmat.adversarial import craft_adversarial
from skmmat.adversarial._word_search import substitution_budget
from skmmat.embeddings import nearest_neighbors

from .conftest import stack


def changed_positions(X, X_adv):
    """Boolean (n, n_words) mask of the positions whose vector changed."""
    return np.any(stack(X_adv["text"]) != stack(X["text"]), axis=2)


def check_threat_model(X, X_adv, glove, budget, n_candidates=10):
    """Assert every substitution of X_adv is allowed; return the changes per tweet."""
    before, after = stack(X["text"]), stack(X_adv["text"])
    changed = changed_positions(X, X_adv)
    for i, j in zip(*np.nonzero(changed), strict=True):
        old, new = X["tokens"].iloc[i][j], X_adv["tokens"].iloc[i][j]
        row_old, row_new = glove.index[old], glove.index[new]
        np.testing.assert_array_equal(before[i, j], glove.vectors[row_old])
        np.testing.assert_array_equal(after[i, j], glove.vectors[row_new])  # a real word
        (cands,), _ = nearest_neighbors(glove, [row_old], n_candidates)
        assert row_new in cands, (old, new)  # in the original word's candidate set
    # padding (all-zero positions) never changes
    assert not (changed & (np.abs(before).sum(axis=2) == 0)).any()
    per_tweet = changed.sum(axis=1)
    assert (per_tweet <= budget).all()
    return per_tweet


def test_substitution_budget():
    n_words = np.array([0, 1, 3, 10, 15])
    np.testing.assert_array_equal(substitution_budget(None, n_words), n_words)
    np.testing.assert_array_equal(substitution_budget(2, n_words), [0, 1, 2, 2, 2])
    # a fraction of the tweet's words, rounded up
    np.testing.assert_array_equal(substitution_budget(0.2, n_words), [0, 1, 1, 2, 3])
    np.testing.assert_array_equal(substitution_budget(1.0, n_words), n_words)


@pytest.mark.parametrize(
    "params",
    [
        {"threshold": None, "max_substitutions": 1},
        {"threshold": None, "max_substitutions": 0.25, "n_iter": 3},
        {"search": "greedy", "max_substitutions": 2},
    ],
    ids=["eq2-one-word", "iterative-quarter", "greedy-two-words"],
)
def test_attacks_stay_inside_the_threat_model(mmn, prepared, glove, params):
    X, y = prepared
    X_adv = WordSubstitutionPerturber(mmn, algorithm="exact", **params).fit(X).craft(X, y)
    n_words = (np.abs(stack(X["text"])).sum(axis=2) > 0).sum(axis=1)
    budget = substitution_budget(params["max_substitutions"], n_words)
    per_tweet = check_threat_model(X, X_adv, glove, budget)
    assert per_tweet.sum() > 0  # the attack does something
    np.testing.assert_array_equal(stack(X_adv["image"]), stack(X["image"]))  # text only


def test_a_budget_keeps_the_best_scoring_words_of_equation_2(mmn, prepared):
    X, y = prepared
    free = WordSubstitutionPerturber(mmn, threshold=None).fit(X).craft(X, y)
    one = WordSubstitutionPerturber(mmn, threshold=None, max_substitutions=1).fit(X).craft(X, y)
    changed_free, changed_one = changed_positions(X, free), changed_positions(X, one)
    # at most one word per tweet, one of those the unlimited attack changes, to the same word
    assert (changed_one.sum(axis=1) == np.minimum(changed_free.sum(axis=1), 1)).all()
    assert not (changed_one & ~changed_free).any()
    np.testing.assert_array_equal(stack(one["text"])[changed_one], stack(free["text"])[changed_one])


def test_iterative_search_reaches_what_one_step_cannot(mmn, prepared):
    """More steps: never fewer substitutions, and the loss at the true labels grows."""
    X, y = prepared
    attacks = {
        n: WordSubstitutionPerturber(mmn, n_iter=n, max_substitutions=3).fit(X).craft(X, y)
        for n in (1, 3)
    }
    one, three = (changed_positions(X, attacks[n]).sum(axis=1) for n in (1, 3))
    assert (three >= one).all() and three.sum() > one.sum()

    def true_proba(frame):
        proba = mmn.predict_proba(frame)
        return proba[np.arange(len(y)), np.searchsorted(mmn.classes_, y)].mean()

    assert true_proba(attacks[3]) < true_proba(attacks[1]) < true_proba(X)


def test_greedy_search_is_at_least_as_strong_as_equation_2(text_cnn, prepared):
    X, y = prepared
    eq2 = WordSubstitutionPerturber(text_cnn).fit(X).craft(X, y)
    greedy = WordSubstitutionPerturber(text_cnn, search="greedy").fit(X).craft(X, y)
    clean = text_cnn.score(X, y)
    acc_eq2, acc_greedy = text_cnn.score(eq2, y), text_cnn.score(greedy, y)
    assert acc_greedy <= acc_eq2 < clean
    # the greedy search stops at the first flip: a broken tweet has few words changed
    flipped = text_cnn.predict(greedy) != y
    assert changed_positions(X, greedy)[flipped].sum(axis=1).mean() < 4


def test_greedy_search_uses_no_gradient(text_cnn, prepared, monkeypatch):
    X, y = prepared

    def refuse(*args, **kwargs):
        raise AssertionError("a query-only attack asked for a gradient")

    monkeypatch.setattr(type(text_cnn), "loss_gradient", refuse)
    perturber = WordSubstitutionPerturber(text_cnn, search="greedy", max_substitutions=1)
    assert not perturber.single_step
    out = craft_adversarial(
        text_cnn, X.iloc[:40], y[:40], text_perturber=perturber, image_perturber=None
    )
    assert changed_positions(X.iloc[:40], out).sum() > 0


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"search": "beam"}, "search"),
        ({"n_iter": 0}, "n_iter"),
        ({"max_substitutions": 0}, "max_substitutions"),
        ({"max_substitutions": 1.5}, "max_substitutions"),
        ({"max_substitutions": "all"}, "max_substitutions"),
    ],
)
def test_bad_threat_model_parameters(text_cnn, prepared, params, name):
    X, _ = prepared
    with pytest.raises(ValueError, match=name):
        WordSubstitutionPerturber(text_cnn, **params).fit(X)
