"""ThreatModel: the one place that says what an attacker may change, and its consumers agree."""

import numpy as np
import pytest
import torch

from skmmat import FGSMPerturber, WordSubstitutionPerturber
from skmmat.adversarial import ThreatModel
from skmmat.adversarial._ibp import make_interval_bound_loss
from skmmat.adversarial._in_loop import make_batch_attack

from .conftest import model_batch, stack


def test_perturbers_expose_their_threat_model(mmn, prepared, glove):
    X, y = prepared
    image = FGSMPerturber(eps=0.05, clip=None).threat_model()
    assert (image.eps, image.clip, image.vectors) == (0.05, None, None)
    text_p = WordSubstitutionPerturber(n_candidates=4, max_distance=3.0, max_substitutions=2)
    text = text_p.threat_model()
    assert text.vectors is glove and text.eps is None
    assert (text.n_candidates, text.max_distance, text.max_substitutions) == (4, 3.0, 2)
    fitted = text_p.set_params(estimator=mmn).fit(X)
    assert fitted.threat_model_.n_candidates == 4 and fitted.vectors_ is glove
    with pytest.raises(ValueError, match="n_candidates"):
        WordSubstitutionPerturber(n_candidates=0).threat_model()
    with pytest.raises(ValueError, match="clip"):
        FGSMPerturber(clip=(1.0, 0.0)).threat_model()
    both = ThreatModel.combine(image, text)
    assert (both.eps, both.n_candidates, both.vectors) == (0.05, 4, glove)
    assert "eps=0.05" in repr(both) and "n_candidates=4" in repr(both)


def test_one_projection_for_numpy_and_torch():
    threat = ThreatModel(eps=0.1, clip=(0.0, 1.0))
    rng = np.random.default_rng(0)
    x0 = rng.random((4, 8, 8, 3), dtype=np.float32)
    x = x0 + rng.normal(0, 0.3, x0.shape).astype(np.float32)
    projected = threat.project_image(x, x0)
    assert np.abs(projected - x0).max() <= np.float32(0.1) + 1e-7
    assert projected.min() >= 0.0 and projected.max() <= 1.0
    inside = (np.abs(x - x0) <= 0.1) & (x >= 0) & (x <= 1)
    np.testing.assert_array_equal(projected[inside], x[inside])  # inside: unchanged
    as_tensor = threat.project_image(torch.from_numpy(x), torch.from_numpy(x0))
    np.testing.assert_array_equal(as_tensor.numpy(), projected)
    lower, upper = threat.image_box(torch.from_numpy(x0), share=0.5)
    assert torch.all(upper - lower <= 0.1 + 1e-6) and lower.min() >= 0


def test_word_rows_candidate_sets_and_budget(prepared, glove):
    X, _ = prepared
    threat = WordSubstitutionPerturber(n_candidates=5, max_distance=3.5).threat_model()
    seq, rows = threat.text_rows(X, "test")
    for i in range(5):
        tokens = list(X["tokens"].iloc[i])
        expected = [glove.index.get(t, -1) for t in tokens]
        np.testing.assert_array_equal(rows[i, : len(tokens)], expected)
        assert (rows[i, len(tokens) :] == -1).all()  # padding
    words = np.unique(rows[rows >= 0])
    sets = threat.candidate_sets(words)
    idx, dist = threat.candidates(words)
    np.testing.assert_array_equal(sets.indices, idx)
    np.testing.assert_array_equal(sets.allowed, dist <= 3.5)
    assert not (idx == words[:, None]).any()  # a word is not its own candidate
    np.testing.assert_array_equal(threat.budget([0, 2, 9]), [0, 2, 9])
    capped = ThreatModel(vectors=glove, max_substitutions=3)
    np.testing.assert_array_equal(capped.budget([0, 2, 9]), [0, 2, 3])
    share = ThreatModel(vectors=glove, max_substitutions=0.25)
    np.testing.assert_array_equal(share.budget([1, 4, 9]), [1, 1, 3])


def test_attacks_training_and_certificates_read_the_same_threat_model(mmn, prepared):
    """Every vector Eq. 2 may write lies in the certificate's and the IBP training's box."""
    X, y = prepared
    text_p = WordSubstitutionPerturber(n_candidates=3, max_distance=3.0, threshold=None)
    image_p = FGSMPerturber(eps=0.02)
    threat = text_p.threat_model()
    boxes, rows = threat.word_boxes(X, "test")
    # the attack's substitutes, position by position, inside the boxes
    X_adv = text_p.set_params(estimator=mmn).fit(X).craft(X, y)
    adv, clean = stack(X_adv["text"]), stack(X["text"])
    changed = np.any(adv != clean, axis=2)
    assert changed.any()
    at = np.searchsorted(boxes.words, rows[changed])
    assert (adv[changed] >= boxes.lower[at] - 1e-7).all()
    assert (adv[changed] <= boxes.upper[at] + 1e-7).all()
    # in-loop training's vocabulary holds the same candidate sets, in compact rows
    vocabulary = threat.vocabulary(X, "test")
    table = threat.vectors.vectors
    sets = threat.candidate_sets(boxes.words)
    compact = vocabulary.rows(torch.from_numpy(clean))
    known = rows >= 0
    np.testing.assert_array_equal(vocabulary.vectors[compact[known]], table[rows[known]])
    order = np.argsort(vocabulary.sets.words)
    np.testing.assert_array_equal(
        vocabulary.vectors[vocabulary.sets.indices[order]], table[sets.indices]
    )
    np.testing.assert_array_equal(vocabulary.sets.allowed[order], sets.allowed)
    # IBP training's box at full share is the certificate's box
    hook = make_interval_bound_loss(image_p, text_p, X, ("image", "text"), 0.5, 0)
    inputs, _ = model_batch(mmn, X, y, np.arange(16))
    lower, upper = hook.box(inputs, 1.0)
    expected = boxes.bounds(inputs["text"], rows[:16])
    assert torch.equal(lower["text"], expected[0]) and torch.equal(upper["text"], expected[1])
    # and the in-loop attack projects onto the image perturber's ball
    attack = make_batch_attack(image_p, text_p, X, ("image", "text"), 0.5)
    assert attack.threat.eps == 0.02 and attack.threat.n_candidates == 3
