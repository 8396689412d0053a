"""Certificates on real tweets: no enumeration and no attack in the threat model breaks one.

Small Text-CNN and MMN trained briefly on real CrisisMMD tweets (Mexico
earthquake texts; California wildfires, whose images are real, at 16x16).
The text threat models keep few candidates (``max_distance``), so that a
plainly trained model has certified tweets and every substitution of a tweet
can be enumerated.
"""

import copy
import itertools
import pickle

import numpy as np
import pytest
import torch
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skmmat import (
    AdversarialAugmentationWrapper,
    FGSMPerturber,
    GloveSequencer,
    ImageResizer,
    MultiModalCNNClassifier,
    WordSubstitutionPerturber,
)
from skmmat.adversarial import margin_bounds
from skmmat.embeddings import nearest_neighbors
from skmmat.metrics import (
    ROUNDING_ALLOWANCE,
    adversarial_predictions,
    certified_accuracy,
    certify,
    make_certified_scorer,
)

#: the text threat model of these tests: 3 neighbours within 2.0 (euclidean)
TEXT = {"n_candidates": 3, "max_distance": 2.0}


def small_cnn(**params):
    base = {
        "hidden_units": 8,
        "text_filters": 8,
        "image_filters": (4, 8),
        "max_epochs": 8,
        "patience": None,
        "lr": 1e-2,
        "class_weight": "balanced",
        "random_state": 0,
    }
    return MultiModalCNNClassifier(**{**base, **params})


@pytest.fixture(scope="module")
def mexico(crisismmd_root):
    """400 real Mexico-earthquake tweets as GloVe sequences: 300 to train, 100 to test."""
    from skmmat.datasets import load_crisismmd

    df = load_crisismmd(crisismmd_root, events="mexico_earthquake").iloc[:400]
    X = GloveSequencer().fit_transform(df[["tweet_id", "text"]])
    y = df["label"].to_numpy()
    return X.iloc[:300], X.iloc[300:], y[:300], y[300:], df


@pytest.fixture(scope="module")
def text_cnn(mexico):
    X_tr, _, y_tr, _, _ = mexico
    return small_cnn(modalities=("text",)).fit(X_tr, y_tr)


@pytest.fixture(scope="module")
def california(crisismmd_root):
    """300 real California-wildfire image-tweet pairs (real images, 16x16): 220 / 80."""
    from skmmat.datasets import load_crisismmd

    df = load_crisismmd(crisismmd_root, events="california_wildfires").iloc[:300]
    prep = make_pipeline(ImageResizer(size=(16, 16)), GloveSequencer())
    X = prep.fit_transform(df[["tweet_id", "image", "text"]])
    y = df["label"].to_numpy()
    return X.iloc[:220], X.iloc[220:], y[:220], y[220:]


@pytest.fixture(scope="module")
def mmn(california):
    X_tr, _, y_tr, _ = california
    return small_cnn().fit(X_tr, y_tr)


def _positions(X, glove):
    """Per tweet, the (position, table row) of each in-vocabulary word, from the tokens."""
    out = []
    for tokens, seq in zip(X["tokens"], X["text"], strict=True):
        words = []
        for p, token in enumerate(tokens):
            row = glove.index.get(token, -1)
            if row >= 0 and np.array_equal(glove.vectors[row], seq[p]):
                words.append((p, row))
        out.append(words)
    return out


def test_enumerating_every_substitution_never_breaks_a_certified_tweet(text_cnn, mexico, glove):
    _, X_te, _, y_te, _ = mexico
    certified, bound = certify(
        text_cnn, X_te, y_te, image_perturber=None, text_perturber=WordSubstitutionPerturber(**TEXT)
    )
    module = copy.deepcopy(text_cnn.net_.module_).double().eval()
    y_enc = np.searchsorted(text_cnn.classes_, y_te)
    checked = n_certified = 0
    for i, words in enumerate(_positions(X_te, glove)):
        # every word's choices: itself and its candidates within max_distance
        choices = []
        for p, row in words:
            (cands,), (dists,) = nearest_neighbors(glove, [row], TEXT["n_candidates"])
            allowed = cands[dists <= TEXT["max_distance"]]
            if allowed.size:
                choices.append((p, [row, *allowed]))
        combos = list(itertools.product(*(c for _, c in choices)))
        if len(combos) > 4096:
            continue
        texts = np.repeat(np.asarray(X_te["text"].iloc[i], np.float64)[None], len(combos), 0)
        for k, (p, _) in enumerate(choices):
            texts[:, p] = glove.vectors[[combo[k] for combo in combos]]
        with torch.no_grad():
            logits = module(text=torch.as_tensor(texts)).numpy()
        margins = logits[:, y_enc[i]][:, None] - np.delete(logits, y_enc[i], axis=1)
        worst = margins.min()
        assert worst >= bound[i] - 1e-9, (i, worst, bound[i])  # the bound is a lower bound
        if certified[i]:
            assert worst > 0  # ... and no substitution breaks a certified tweet
        checked += 1
        n_certified += int(certified[i])
    print({"tweets enumerated": checked, "certified": n_certified})
    assert checked >= 80 and n_certified >= 25, (checked, n_certified)  # measured: 98, 44


def test_the_strongest_attacks_never_break_a_certified_tweet(mmn, california):
    _, X_te, _, y_te = california
    image = FGSMPerturber(eps=0.05, n_iter=10, random_start=True, random_state=0)
    text = WordSubstitutionPerturber(search="greedy", max_substitutions=None, **TEXT)
    attacks = [
        {"image_perturber": image},
        {"text_perturber": text},
        {"image_perturber": image, "text_perturber": text},
    ]
    certified, margins = certify(mmn, X_te, y_te, image_perturber=image, text_perturber=text)
    y_adv, _ = adversarial_predictions(mmn, X_te, y_te, attacks=attacks)
    assert (y_adv[certified] == y_te[certified]).all()
    assert 0 < certified.sum() <= (y_adv == y_te).sum() < len(y_te)
    assert ((margins > 0) == certified).all()


def test_greedy_substitution_never_breaks_a_certified_text(text_cnn, mexico):
    _, X_te, _, y_te, _ = mexico
    text = WordSubstitutionPerturber(search="greedy", max_substitutions=None, **TEXT)
    certified, _ = certify(text_cnn, X_te, y_te, image_perturber=None, text_perturber=text)
    y_adv, _ = adversarial_predictions(
        text_cnn, X_te, y_te, image_perturber=None, text_perturber=text
    )
    assert certified.sum() >= 10 and (y_adv[certified] == y_te[certified]).all()


def test_a_point_threat_model_certifies_the_correct_predictions(mmn, california):
    _, X_te, _, y_te = california
    certified, margins = certify(
        mmn, X_te, y_te, image_perturber=FGSMPerturber(eps=0.0), text_perturber=None
    )
    inputs = mmn.model_inputs(X_te)
    with torch.no_grad():
        logits = mmn.forward_logits(inputs).numpy()
    y_enc = np.searchsorted(mmn.classes_, y_te)
    exact = logits[np.arange(len(y_te)), y_enc] - logits[np.arange(len(y_te)), 1 - y_enc]
    # the exact margin, less the rounding allowance
    allowance = ROUNDING_ALLOWANCE * (1 + 2 * np.abs(exact))
    np.testing.assert_allclose(margins, exact - allowance, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(certified, mmn.predict(X_te) == y_te)


def test_float32_bounds_stay_within_a_tenth_of_the_rounding_allowance(mmn, california):
    """The certificate's float32 bounds against the same bounds in float64."""
    _, X_te, _, y_te = california
    inputs = mmn.model_inputs(X_te)
    y_enc = torch.as_tensor(np.searchsorted(mmn.classes_, y_te))
    module = mmn.net_.module_
    bounds = {}
    for dtype in (torch.float32, torch.float64):
        point = {m: torch.as_tensor(a, dtype=dtype) for m, a in inputs.items()}
        low, high = dict(point), dict(point)
        low["image"], high["image"] = (
            (point["image"] - 0.01).clamp(0, 1),
            (point["image"] + 0.01).clamp(0, 1),
        )
        low["text"], high["text"] = point["text"] - 0.05, point["text"] + 0.05
        with torch.no_grad():
            bounds[dtype] = [b.double() for b in margin_bounds(module, low, high, y_enc)]
    (l32, u32), (l64, u64) = bounds[torch.float32], bounds[torch.float64]
    scale = 1 + l64.abs() + u64.abs()
    assert (l64 < 0).any() and (l64 > 0).any()  # a box that decides some tweets, not all
    assert ((l32 - l64).abs() / scale).max() < ROUNDING_ALLOWANCE / 10
    assert ((u32 - u64).abs() / scale).max() < ROUNDING_ALLOWANCE / 10


def test_bigger_threat_models_certify_fewer_tweets(mmn, california):
    _, X_te, _, y_te = california
    counts = [
        certify(mmn, X_te, y_te, image_perturber=FGSMPerturber(eps=eps), text_perturber=None)[
            0
        ].sum()
        for eps in (0.0, 0.01, 0.05, 0.2)
    ]
    assert counts == sorted(counts, reverse=True) and counts[-1] < counts[0]


def test_the_budget_is_ignored(text_cnn, mexico):
    _, X_te, _, y_te, _ = mexico
    results = [
        certify(
            text_cnn,
            X_te,
            y_te,
            image_perturber=None,
            text_perturber=WordSubstitutionPerturber(max_substitutions=budget, **TEXT),
        )[1]
        for budget in (None, 1)
    ]
    np.testing.assert_array_equal(*results)


def test_pipelines_and_wrappers_are_certified_through_their_network(mexico):
    X_tr, X_te, y_tr, y_te, df = mexico
    raw_tr, raw_te = df[["tweet_id", "text"]].iloc[:300], df[["tweet_id", "text"]].iloc[300:]
    wrapper = AdversarialAugmentationWrapper(
        small_cnn(modalities=("text",), max_epochs=1),
        text_perturber=WordSubstitutionPerturber(threshold=None),
        method="in_loop",
        random_state=0,
    )
    pipe = make_pipeline(GloveSequencer(), wrapper).fit(raw_tr, y_tr)
    text = WordSubstitutionPerturber(**TEXT)
    kwargs = {"image_perturber": "default", "text_perturber": text}  # no image: ignored
    certified, margins = certify(pipe, raw_te, y_te, **kwargs)
    inner = certify(pipe[-1].estimator_, X_te, y_te, **kwargs)
    np.testing.assert_array_equal(margins, inner[1])
    assert certified_accuracy(pipe, raw_te, y_te, **kwargs) == certified.mean()


def test_the_certified_scorer_in_cross_validate(mexico):
    X_tr, _, y_tr, _, _ = mexico
    scorer = make_certified_scorer(
        image_perturber=None, text_perturber=WordSubstitutionPerturber(**TEXT)
    )
    assert "max_distance=2.0" in repr(scorer)
    scorer = pickle.loads(pickle.dumps(scorer))
    res = cross_validate(
        small_cnn(modalities=("text",), max_epochs=2),
        X_tr,
        y_tr,
        cv=2,
        scoring={"accuracy": "accuracy", "certified": scorer},
    )
    assert (res["test_certified"] <= res["test_accuracy"]).all()
    assert (res["test_certified"] >= 0).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"image_perturber": WordSubstitutionPerturber()}, ValueError, "'image_perturber'"),
        ({"text_perturber": "strong"}, ValueError, "'text_perturber'"),
        ({"image_perturber": FGSMPerturber(eps=-0.1)}, InvalidParameterError, "'eps'"),
        ({"image_perturber": FGSMPerturber(clip=(1, 0))}, ValueError, "'clip'"),
    ],
)
def test_bad_threat_models_are_named(mmn, california, kwargs, error, match):
    _, X_te, _, y_te = california
    with pytest.raises(error, match=match):
        certify(mmn, X_te, y_te, **kwargs)
    with pytest.raises(error, match=match):
        make_certified_scorer(**kwargs)


def test_bad_models_and_inputs_are_named(mmn, california):
    _, X_te, _, y_te = california
    with pytest.raises(ValueError, match="'text'"):
        certify(mmn, X_te.drop(columns="text"), y_te)
    with pytest.raises(ValueError, match="not seen during fit"):
        certify(mmn, X_te, np.where(y_te == y_te[0], "other", y_te))
    dummy = DummyClassifier().fit(np.zeros((len(y_te), 1)), y_te)
    with pytest.raises(ValueError, match="holds none"):
        certified_accuracy(dummy, X_te, y_te)
    odd = copy.deepcopy(mmn)
    odd.net_.module_.head[2] = torch.nn.Tanh()
    with pytest.raises(ValueError, match="Tanh"):
        certify(odd, X_te, y_te)
