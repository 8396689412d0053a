"""RandomizedSmoothingClassifier: the noise, its shift bound, certificates checked by search."""

import copy
import itertools
from math import comb

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skmmat import GloveSequencer, WordSubstitutionPerturber, load_model, save_model
from skmmat.adversarial import RandomizedSmoothingClassifier
from skmmat.adversarial._noise import MaskNoise, SubstitutionNoise
from skmmat.embeddings import load_vectors, nearest_neighbors
from skmmat.metrics import adversarial_predictions
from skmmat.preprocessing import tokenize_tweet


def budget(k, **params):
    return WordSubstitutionPerturber(max_substitutions=k, algorithm="exact", **params)


@pytest.fixture(scope="module")
def texts(demo):
    return demo["text"].to_numpy(dtype=object), demo["label"].to_numpy()


def tfidf():
    return make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0, max_iter=1000))


@pytest.fixture(scope="module")
def smooth_tfidf(texts):
    X, y = texts
    return RandomizedSmoothingClassifier(
        tfidf(),
        budget(1),
        keep_rate=0.25,
        n_samples=400,
        n_samples_certify=2000,
        random_state=0,
    ).fit(X, y)


# ---------------------------------------------------------------------------
# the shift bounds, against the total variation computed from the distributions
# ---------------------------------------------------------------------------
def test_mask_shift_is_the_exact_total_variation_of_the_kept_sets():
    """Noise = (kept positions, their words): it differs exactly when a changed word is kept."""
    noise = MaskNoise(keep_rate=0.4)  # keeps 2 of 5 words
    rows = np.array([[10, 11, 12, 13, 14]])
    sets = budget(2).threat_model().candidate_sets(rows[0])
    for r in (1, 2):
        changed = set(range(r))
        kept_sets = list(itertools.combinations(range(5), 2))
        moved = sum(1 for s in kept_sets if changed & set(s)) / len(kept_sets)
        assert noise.shift(rows, sets, np.array([r]))[0] == pytest.approx(moved)
    assert noise.shift(rows, sets, np.array([0]))[0] == 0.0
    assert noise.shift(rows, sets, np.array([4]))[0] == 1.0  # 1 unchanged word, 2 kept


def test_substitution_overlap_is_that_of_the_neighbour_sets():
    table = load_vectors("glove-6b-50d")
    threat = budget(1).threat_model()
    noise = SubstitutionNoise(threat, n_neighbors=20)
    words = table.lookup(["flood", "rescue", "donate"])
    sets = threat.candidate_sets(np.unique(words))
    overlaps = noise.position_overlaps(np.array([words]), sets)[0]

    def noise_set(row):
        near, _ = nearest_neighbors(table, [row], 20)
        return {row, *near[0].tolist()}

    for word, got in zip(words, overlaps, strict=True):
        cands, _ = nearest_neighbors(table, [word], 10)
        want = min(len(noise_set(word) & noise_set(c)) / 21 for c in cands[0].tolist())
        assert got == pytest.approx(want)
    shift = noise.shift(np.array([words]), sets, np.array([2]))[0]
    assert shift == pytest.approx(1 - np.prod(np.sort(overlaps)[:2]))


def test_substitution_noise_draws_from_the_noise_sets(texts):
    threat = budget(1).threat_model()
    noise = SubstitutionNoise(threat, n_neighbors=5)
    rows = np.array([threat.vectors.lookup(["flood", "water"])[0], -1, 7])
    copies = noise.sample(rows, np.random.default_rng(0), 500)
    assert (copies[:, 1] == -1).all()
    for position in (0, 2):
        allowed = set(noise.noise_sets(rows[[position]])[0].tolist())
        drawn = set(copies[:, position].tolist())
        assert drawn == allowed  # 500 draws reach all 6 members


# ---------------------------------------------------------------------------
# certificates, checked exhaustively and against the strongest attacks
# ---------------------------------------------------------------------------
def reachable(tokens, rows, sets, k):
    """Every token list an attacker reaches with at most k substitutions."""
    words = [i for i, r in enumerate(rows) if r >= 0]
    out = []
    for n in range(1, k + 1):
        for positions in itertools.combinations(words, n):
            options = []
            for p in positions:
                cand, allowed = sets.of(np.array([rows[p]]))
                options.append(cand[0][allowed[0]].tolist())
            for choice in itertools.product(*options):
                out.append((positions, choice))
    return out


def test_certified_raw_tweets_hold_against_every_substitution(smooth_tfidf, texts):
    """Short tweets: every tweet within the budget gets the certified prediction."""
    X, y = texts
    threat = smooth_tfidf.threat_model_
    words = load_vectors("glove-6b-50d").words
    short = np.array([" ".join(tokenize_tweet(t)[:5]) for t in X], dtype=object)
    certified, margins = smooth_tfidf.certify(short, y)
    assert certified.sum() >= 3, "the test needs certified tweets to check"
    assert ((margins > 0) == certified).all()
    checked = 0
    for i in np.flatnonzero(certified)[:6]:
        tokens = short[i].split()
        rows = threat.vectors.lookup(tokens)
        sets = threat.candidate_sets(np.unique(rows[rows >= 0]))
        variants = []
        for positions, choice in reachable(tokens, rows, sets, 1):
            new = list(tokens)
            for p, c in zip(positions, choice, strict=True):
                new[p] = words[c]
            variants.append(" ".join(new))
        pred = smooth_tfidf.predict(np.array(variants, dtype=object))
        assert (pred == y[i]).all(), short[i]
        checked += len(variants)
    assert checked > 20


@pytest.fixture(scope="module")
def smooth_cnn(prepared, small_cnn):
    X, y = prepared
    X = X[["tweet_id", "text", "tokens"]]
    model = small_cnn(modalities=("text",), max_epochs=6, validation_groups="tweet_id")
    smooth = RandomizedSmoothingClassifier(
        model, budget(1), keep_rate=0.2, n_samples=200, n_samples_certify=1000, random_state=0
    )
    return smooth.fit(X, y), X, y


def test_no_certified_tweet_is_broken_by_the_strongest_attacks(smooth_cnn):
    from skmmat.experiments import strongest_attacks

    smooth, X, y = smooth_cnn
    smooth = copy.copy(smooth).set_params(n_samples=100)  # a cheaper vote, same base model
    X, y = X.iloc[:60], y[:60]
    certified, _ = smooth.certify(X, y)
    assert certified.sum() >= 5
    attacks = strongest_attacks(["text"], max_substitutions=1)
    y_adv, _ = adversarial_predictions(smooth, X, y, attacks=list(attacks.values()))
    assert (y_adv[certified] == y[certified]).all()
    assert (y_adv != y).any()  # the attacks do break uncertified tweets


def test_one_model_certifies_against_several_budgets(smooth_cnn):
    smooth, X, y = smooth_cnn
    smooth = copy.copy(smooth).set_params(n_samples=100)
    X, y = X.iloc[:60], y[:60]
    built, margins = smooth.certify(X, y)  # the perturber's budget: 1 word
    np.testing.assert_array_equal(smooth.certify(X, y, max_substitutions=1)[1], margins)
    three, margins3 = smooth.certify(X, y, max_substitutions=3)
    assert (margins3 <= margins).all() and three.sum() < built.sum()
    shifts = [smooth.shift(X, max_substitutions=k) for k in (1, 3, 1.0)]
    np.testing.assert_array_equal(shifts[0], smooth.shift(X))
    assert (shifts[0] <= shifts[1]).all() and (shifts[1] <= shifts[2]).all()
    assert (shifts[0] < shifts[1]).any()
    with pytest.raises(ValueError, match="'max_substitutions' parameter of .*certify"):
        smooth.certify(X, y, max_substitutions=0)


# ---------------------------------------------------------------------------
# the vote: fixed noise per query, the base model, gradients
# ---------------------------------------------------------------------------
def test_the_noise_is_fixed_per_query(smooth_cnn):
    smooth, X, _ = smooth_cnn
    proba = smooth.predict_proba(X)
    votes = proba * smooth.n_samples
    np.testing.assert_allclose(votes, np.round(votes), atol=1e-9)
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_array_equal(smooth.predict_proba(X.iloc[order]), proba[order])
    np.testing.assert_array_equal(smooth.predict_proba(X.iloc[:5]), proba[:5])
    other = copy.copy(smooth)
    other.noise_seed_ += 1
    assert not np.array_equal(other.predict_proba(X), proba)


def test_without_noise_it_is_the_base_model(prepared, small_cnn):
    X, y = prepared
    X = X[["tweet_id", "text", "tokens"]]
    smooth = RandomizedSmoothingClassifier(
        small_cnn(modalities=("text",)), budget(1), keep_rate=1.0, n_samples=3, n_copies=1
    ).fit(X, y)
    base = smooth.estimator_
    np.testing.assert_array_equal(smooth.predict(X), base.predict(X))
    np.testing.assert_array_equal(smooth.predict_proba(X).max(axis=1), 1.0)
    np.testing.assert_allclose(
        smooth.loss_gradient(X, y)["text"], base.loss_gradient(X, y)["text"], atol=1e-6
    )
    assert smooth.input_shapes_ == base.input_shapes_


def test_the_base_model_is_trained_on_noisy_copies(texts):
    X, y = texts

    class Recorder(LogisticRegression):
        def fit(self, X, y):
            self.seen_ = list(X)
            return super().fit(TfidfVectorizer().fit_transform(X), y)

        def predict(self, X):  # pragma: no cover - not used here
            raise AssertionError

    smooth = RandomizedSmoothingClassifier(Recorder(), budget(1), n_copies=3, random_state=0)
    smooth.fit(X[:10], y[:10])
    seen = smooth.estimator_.seen_
    assert len(seen) == 30
    for i in range(10):
        n = int((load_vectors("glove-6b-50d").lookup(tokenize_tweet(X[i])) >= 0).sum())
        for noisy in seen[3 * i : 3 * i + 3]:
            kept = len(noisy.split()) - (len(tokenize_tweet(X[i])) - n)
            assert kept == (max(1, int(np.floor(0.05 * n + 0.5))) if n else 0)


def test_save_and_load_keep_the_votes(smooth_cnn, tmp_path):
    smooth, X, _ = smooth_cnn
    path = save_model(smooth, tmp_path / "smooth.safetensors")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), smooth.predict_proba(X))


def test_works_in_a_pipeline_on_raw_frames(demo):
    X = demo[["tweet_id", "text"]]
    y = demo["label"].to_numpy()
    from skmmat import MultiModalCNNClassifier

    pipe = make_pipeline(
        GloveSequencer(),
        RandomizedSmoothingClassifier(
            MultiModalCNNClassifier(modalities=("text",), max_epochs=2, random_state=0),
            budget(2),
            n_samples=20,
            n_samples_certify=50,
            random_state=0,
        ),
    ).fit(X, y)
    assert pipe.predict(X.iloc[:4]).shape == (4,)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_bad_settings_and_input_are_named(texts, prepared):
    X, y = texts
    with pytest.raises(ValueError, match="max_substitutions"):
        RandomizedSmoothingClassifier(tfidf(), WordSubstitutionPerturber()).fit(X, y)
    with pytest.raises(ValueError, match="row 2 holds int"):
        RandomizedSmoothingClassifier(tfidf()).fit(np.array(["a b", "c", 3], dtype=object), y[:3])
    with pytest.raises(ValueError, match="n_samples"):
        RandomizedSmoothingClassifier(tfidf(), n_samples=0).fit(X, y)
    smooth = RandomizedSmoothingClassifier(tfidf(), budget(1), n_samples=5).fit(X, y)
    frame, _ = prepared
    with pytest.raises(ValueError, match="fitted on strings input, got vectors"):
        smooth.predict(frame)
    assert not hasattr(smooth, "loss_gradient")


def test_mask_shift_matches_the_binomial_formula():
    noise = MaskNoise(keep_rate=0.2)
    rows = np.arange(15)[None, :] + 100
    sets = budget(3).threat_model().candidate_sets(rows[0])
    got = noise.shift(rows, sets, np.array([3]))[0]
    assert got == pytest.approx(1 - comb(12, 3) / comb(15, 3))
