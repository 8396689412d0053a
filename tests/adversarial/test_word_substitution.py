"""Tests of WordSubstitutionPerturber: the paper's Equation (2) on the real GloVe table.

The reference here is a brute-force recomputation in float64: for every word
position, ``eta = eps * sign(grad)``, the candidate set is the
``n_candidates`` nearest other words of the whole 400,000-word table by
exact euclidean distance, and ``proj = (V[c] - V[w]) . eta``.
"""

import numpy as np
import pandas as pd
import pytest

from skmmat import GloveSequencer, WordSubstitutionPerturber
from skmmat.embeddings import WordVectors

from .conftest import stack

K = 10  # n_candidates
EPS = 0.1
THRESHOLD = 0.5
TOL = 1e-4  # float32 (library) against float64 (here)


EXTRA_TWEETS = [
    # out-of-vocabulary words among real ones, and a tweet shorter than max_len
    "Flood qzxwvkjh water rescue zzyzxplorb near the bridge",
    "Houston blrgfnakt shelter",
    "",
]


@pytest.fixture(scope="module")
def frame(prepared, mmn):
    """The demo frame plus tweets with OOV words and padding."""
    X, y = prepared
    extra = GloveSequencer().fit_transform(
        pd.DataFrame({"tweet_id": ["x1", "x2", "x3"], "text": EXTRA_TWEETS})
    )
    extra["image"] = list(X["image"].iloc[:3])
    extra.index = [1, 2, 3]
    Xf = pd.concat([X, extra[X.columns]])
    yf = np.concatenate([y, y[:3]])
    return Xf, yf


@pytest.fixture(scope="module")
def reference(frame, glove):
    """Exact candidate sets, in float64, of every word of the frame."""
    X, _ = frame
    vocab = sorted({w for toks in X["tokens"] for w in toks if w in glove.index})
    rows = np.array([glove.index[w] for w in vocab])
    V = glove.vectors.astype(np.float64)
    sq = np.einsum("ij,ij->i", V, V)
    cands, dists = {}, {}
    for start in range(0, len(rows), 64):
        q = rows[start : start + 64]
        d2 = sq[q, None] - 2.0 * (V[q] @ V.T) + sq[None, :]
        d2[np.arange(len(q)), q] = np.inf  # the word itself
        part = np.argpartition(d2, K, axis=1)[:, : K + 1]
        for i, r in enumerate(q):
            order = part[i][np.argsort(d2[i, part[i]])]
            # no near-tie at the border of the candidate set, so the set is well defined
            assert d2[i, order[K]] - d2[i, order[K - 1]] > 1e-4
            cands[r] = order[:K]
            dists[r] = np.sqrt(np.maximum(d2[i, order[:K]], 0.0))
    return V, cands, dists


def positions(X, glove):
    """(row, position, table row or -1, token or None) of every position."""
    length = stack(X["text"]).shape[1]
    for i, toks in enumerate(X["tokens"]):
        for j in range(length):
            tok = toks[j] if j < len(toks) else None
            yield i, j, glove.index.get(tok, -1) if tok is not None else -1, tok


def substitutions(X, X_adv):
    """{(row, position): (old token, new token)} of the changed positions."""
    out = {}
    for i, (old, new) in enumerate(zip(X["tokens"], X_adv["tokens"])):
        for j, (a, b) in enumerate(zip(old, new)):
            if a != b:
                out[i, j] = (a, b)
    return out


# ----------------------------------------------------------------------
# Equation (2), position by position
# ----------------------------------------------------------------------
def test_equation_2_by_brute_force(mmn, frame, glove, reference):
    X, y = frame
    V, cands, _ = reference
    X_adv = (
        WordSubstitutionPerturber(
            mmn, eps=EPS, n_candidates=K, threshold=THRESHOLD, algorithm="exact"
        )
        .fit(X)
        .craft(X, y)
    )
    eta = EPS * np.sign(mmn.loss_gradient(X, y)["text"].astype(np.float64))
    seq, seq_adv = stack(X["text"]), stack(X_adv["text"])
    counts = {"substituted": 0, "kept": 0, "pad_or_oov": 0}
    for i, j, w, tok in positions(X, glove):
        new_tokens = X_adv["tokens"].iloc[i]
        assert len(new_tokens) == len(X["tokens"].iloc[i])
        if w < 0:  # padding or out of vocabulary: a zero vector, never touched
            assert not seq[i, j].any() and not seq_adv[i, j].any()
            if tok is not None:
                assert new_tokens[j] == tok
            counts["pad_or_oov"] += 1
            continue
        proj = (V[cands[w]] - V[w]) @ eta[i, j]
        new = new_tokens[j]
        r = glove.index[new]
        np.testing.assert_array_equal(seq_adv[i, j], glove.vectors[r])  # a real table row
        if new != tok:
            assert r in cands[w], (tok, new)
            k = int(np.flatnonzero(cands[w] == r)[0])
            assert proj[k] >= proj.max() - TOL  # the argmax candidate
            assert proj[k] >= THRESHOLD - TOL
            counts["substituted"] += 1
        else:
            np.testing.assert_array_equal(seq_adv[i, j], seq[i, j])
            assert proj.max() < THRESHOLD + TOL  # no candidate reached the threshold
            counts["kept"] += 1
    assert counts["substituted"] > 50 and counts["kept"] > 50 and counts["pad_or_oov"] > 50
    # the extra tweets' OOV words are kept as they are
    assert "qzxwvkjh" in X_adv["tokens"].iloc[-3] and "blrgfnakt" in X_adv["tokens"].iloc[-2]
    assert X_adv["tokens"].iloc[-1] == ()
    assert not seq_adv[-1].any()


def test_candidates_are_exact_neighbours(mmn, frame, glove, reference):
    X, y = frame
    _, cands, dists = reference
    perturber = WordSubstitutionPerturber(mmn, n_candidates=K, algorithm="exact").fit(X, y)
    rows = np.array(sorted(cands))
    idx, dist = perturber.candidates(rows)
    assert idx.shape == (len(rows), K)
    for r, got, d in zip(rows, idx, dist):
        assert set(got) == set(cands[r])
        assert (np.diff(d) >= 0).all()  # closest first
        np.testing.assert_allclose(d, dists[r], rtol=1e-4, atol=1e-4)


def test_output_frame(mmn, frame, glove):
    X, y = frame
    X = X.assign(event="flood")
    before_text = [a.copy() for a in X["text"]]
    before_tokens = list(X["tokens"])
    X_adv = WordSubstitutionPerturber(mmn, algorithm="exact").fit(X).craft(X, y)
    # input untouched, other columns and index pass through
    assert all(np.array_equal(a, b) for a, b in zip(before_text, X["text"]))
    assert list(X["tokens"]) == before_tokens
    assert list(X_adv.columns) == list(X.columns)
    assert X_adv.index.equals(X.index)
    assert X_adv["event"].tolist() == X["event"].tolist()
    assert X_adv["tweet_id"].tolist() == X["tweet_id"].tolist()
    assert all(np.array_equal(a, b) for a, b in zip(X_adv["image"], X["image"]))
    # the tokens column shows the new words and matches the vectors
    for toks, seq in zip(X_adv["tokens"], X_adv["text"]):
        assert isinstance(toks, tuple)
        assert seq.dtype == np.float32 and seq.shape == (15, 50)
        for j, tok in enumerate(toks):
            r = glove.index.get(tok, -1)
            expected = glove.vectors[r] if r >= 0 else np.zeros(50, np.float32)
            np.testing.assert_array_equal(seq[j], expected)
        assert not seq[len(toks) :].any()
    assert substitutions(X, X_adv)


def test_transform_uses_predictions(mmn, frame):
    X, y = frame
    perturber = WordSubstitutionPerturber(mmn, algorithm="exact").fit(X)
    pred = mmn.predict(X)
    assert (pred != y).any()
    unlabelled = perturber.transform(X)
    with_pred = perturber.craft(X, pred)
    with_labels = perturber.craft(X, y)
    assert unlabelled["tokens"].tolist() == with_pred["tokens"].tolist()
    np.testing.assert_array_equal(stack(unlabelled["text"]), stack(with_pred["text"]))
    assert unlabelled["tokens"].tolist() != with_labels["tokens"].tolist()


def test_gradient_passed_in_is_used(mmn, frame, glove, reference):
    X, y = frame
    V, cands, _ = reference
    perturber = WordSubstitutionPerturber(mmn, algorithm="exact").fit(X)
    grad = np.ones((len(X), 15, 50), np.float32)
    X_adv = perturber.craft(X, y, gradient={"text": grad})
    subs = substitutions(X, X_adv)
    assert subs
    for i, j, w, _ in positions(X, glove):
        if w < 0:
            continue
        proj = (V[cands[w]] - V[w]).sum(axis=1) * EPS  # eta = eps everywhere
        if (i, j) in subs:
            assert glove.index[subs[i, j][1]] == cands[w][np.argmax(proj)]
            assert proj.max() >= THRESHOLD - TOL
        else:
            assert proj.max() < THRESHOLD + TOL
    with pytest.raises(ValueError, match="rows"):
        perturber.craft(X, y, gradient={"text": grad[:5]})


# ----------------------------------------------------------------------
# threshold and max_distance
# ----------------------------------------------------------------------
def test_lower_threshold_substitutes_more(mmn, frame):
    X, y = frame
    subs = {
        t: substitutions(
            X, WordSubstitutionPerturber(mmn, threshold=t, algorithm="exact").fit(X).craft(X, y)
        )
        for t in (None, 0, 0.5, 1.0)
    }
    assert subs[None] == subs[0]  # None substitutes every positive projection
    assert len(subs[0]) > len(subs[0.5]) > len(subs[1.0]) > 0
    # the chosen word does not depend on the threshold, only whether it is used
    for low, high in ((0, 0.5), (0.5, 1.0)):
        assert all(subs[low][key] == value for key, value in subs[high].items())


def test_max_distance_restricts_candidates(mmn, frame, glove, reference):
    X, y = frame
    V, cands, dists = reference
    limit = float(np.median(np.concatenate(list(dists.values()))))
    free = substitutions(X, WordSubstitutionPerturber(mmn, algorithm="exact").fit(X).craft(X, y))
    X_adv = WordSubstitutionPerturber(mmn, max_distance=limit, algorithm="exact").fit(X).craft(X, y)
    bounded = substitutions(X, X_adv)
    eta = EPS * np.sign(mmn.loss_gradient(X, y)["text"].astype(np.float64))
    assert 0 < len(bounded) < len(free)
    for (i, j), (old, new) in bounded.items():
        w, r = glove.index[old], glove.index[new]
        assert np.linalg.norm(V[r] - V[w]) <= limit + TOL
        near = cands[w][dists[w] <= limit]
        proj = (V[near] - V[w]) @ eta[i, j]
        assert r == near[np.argmax(proj)]
    assert not substitutions(
        X, WordSubstitutionPerturber(mmn, max_distance=0.0, algorithm="exact").fit(X).craft(X, y)
    )


def test_eps_scales_the_projection(mmn, frame):
    X, y = frame
    # proj scales with eps: eps=0.05 with threshold 0.25 is eps=0.1 with threshold 0.5
    a = WordSubstitutionPerturber(mmn, eps=0.05, threshold=0.25, algorithm="exact")
    b = WordSubstitutionPerturber(mmn, eps=0.1, threshold=0.5, algorithm="exact")
    assert substitutions(X, a.fit(X).craft(X, y)) == substitutions(X, b.fit(X).craft(X, y))
    zero = WordSubstitutionPerturber(mmn, eps=0, algorithm="exact").fit(X).craft(X, y)
    np.testing.assert_array_equal(stack(zero["text"]), stack(X["text"]))


# ----------------------------------------------------------------------
# words found by their vectors
# ----------------------------------------------------------------------
def test_without_tokens_column_matches_vectors(mmn, frame, glove):
    X, y = frame
    with_tokens = WordSubstitutionPerturber(mmn, algorithm="exact").fit(X).craft(X, y)
    bare = X.drop(columns="tokens")
    out = WordSubstitutionPerturber(mmn, algorithm="exact").fit(bare).craft(bare, y)
    np.testing.assert_array_equal(stack(out["text"]), stack(with_tokens["text"]))
    # the tokens are written from the table; OOV words show as "<unk>"
    for toks, ref in zip(out["tokens"], with_tokens["tokens"]):
        n = max((j + 1 for j, t in enumerate(ref) if t in glove.index), default=0)
        assert list(toks) == [t if t in glove.index else "<unk>" for t in ref[:n]]
    none = WordSubstitutionPerturber(mmn, tokens_column=None, algorithm="exact")
    out = none.fit(bare).craft(bare, y)
    assert "tokens" not in out.columns
    np.testing.assert_array_equal(stack(out["text"]), stack(with_tokens["text"]))


def test_stale_tokens_fall_back_to_vectors(mmn, frame):
    X, y = frame
    # tokens that disagree with the vectors are not trusted
    stale = X.assign(tokens=[tuple(reversed(t)) for t in X["tokens"]])
    a = WordSubstitutionPerturber(mmn, algorithm="exact").fit(stale).craft(stale, y)
    b = WordSubstitutionPerturber(mmn, algorithm="exact").fit(X).craft(X, y)
    np.testing.assert_array_equal(stack(a["text"]), stack(b["text"]))


def test_vectors_not_from_the_table_raise(mmn, frame, glove):
    X, y = frame
    noisy = X.assign(text=[s + np.float32(0.01) * (s != 0) for s in X["text"]])
    with pytest.raises(ValueError, match="not rows of the"):
        WordSubstitutionPerturber(mmn, algorithm="exact").fit(noisy).craft(noisy, y)
    rng = np.random.default_rng(0)
    words = sorted({w for t in X["tokens"] for w in t})
    other = WordVectors(words, rng.normal(size=(len(words), 50)))
    Xo = GloveSequencer(vectors=other).fit_transform(
        X.drop(columns="text").assign(text=[" ".join(t) for t in X["tokens"]])
    )
    with pytest.raises(ValueError, match="same 'vectors'"):
        WordSubstitutionPerturber(mmn, algorithm="exact").fit(Xo).craft(Xo, y)


# ----------------------------------------------------------------------
# the estimator and the parameters
# ----------------------------------------------------------------------
def test_text_only_estimator_and_errors(text_cnn, visual_cnn, frame):
    X, y = frame
    text_only = X.drop(columns="image")
    out = WordSubstitutionPerturber(text_cnn, algorithm="exact").fit(text_only).craft(text_only, y)
    assert substitutions(X, out)
    with pytest.raises(ValueError, match="'text'"):
        WordSubstitutionPerturber(visual_cnn).fit(X, y)
    with pytest.raises(ValueError, match="'estimator'"):
        WordSubstitutionPerturber().fit(X, y)
    with pytest.raises(ValueError, match="text"):
        WordSubstitutionPerturber(text_cnn).fit(X.drop(columns="text"), y)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"eps": -1}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"n_candidates": 0}, "n_candidates"),
        ({"n_candidates": 2.5}, "n_candidates"),
        ({"threshold": -0.1}, "threshold"),
        ({"threshold": "0.5"}, "threshold"),
        ({"max_distance": -1.0}, "max_distance"),
        ({"metric": "manhattan"}, "metric"),
        ({"algorithm": "kd_tree"}, "algorithm"),
        ({"tokens_column": "text"}, "tokens_column"),
        ({"tokens_column": 3}, "tokens_column"),
    ],
)
def test_bad_parameters(text_cnn, frame, params, name):
    X, y = frame
    with pytest.raises(ValueError, match=f"'{name}'"):
        WordSubstitutionPerturber(text_cnn, **params).fit(X, y)


def test_cosine_metric_changes_the_candidate_sets(mmn, frame, glove):
    X, y = frame
    p = WordSubstitutionPerturber(mmn, metric="cosine", algorithm="exact").fit(X, y)
    rows = glove.lookup(["flood", "rescue", "coffee"])
    idx, dist = p.candidates(rows)
    V = glove.vectors.astype(np.float64)
    for r, got, d in zip(rows, idx, dist):
        cos = 1 - (V @ V[r]) / (np.linalg.norm(V, axis=1) * np.linalg.norm(V[r]))
        cos[r] = np.inf
        assert set(got) == set(np.argsort(cos)[:10])
        np.testing.assert_allclose(d, np.sort(cos)[:10], atol=1e-4)


# ----------------------------------------------------------------------
# approximate neighbours
# ----------------------------------------------------------------------
def test_ann_agrees_with_exact_on_a_20k_table(text_cnn, demo, glove, tmp_path, monkeypatch):
    monkeypatch.setenv("SKMMAT_CACHE_DIR", str(tmp_path))
    table = WordVectors(glove.words[:20000], glove.vectors[:20000])
    X = GloveSequencer(vectors=table).fit_transform(demo[["text"]])
    y = demo["label"].to_numpy()
    exact = WordSubstitutionPerturber(text_cnn, vectors=table, algorithm="exact").fit(X, y)
    ann = WordSubstitutionPerturber(text_cnn, vectors=table, algorithm="ann", n_jobs=1).fit(X, y)
    rows = np.unique(np.concatenate([table.lookup(t) for t in X["tokens"]]))
    rows = rows[rows >= 0]
    idx_e, _ = exact.candidates(rows)
    idx_a, _ = ann.candidates(rows)
    recall = np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(idx_a, idx_e)])
    assert recall >= 0.95
    assert list((tmp_path / "knn").glob("*.npz"))  # the graph was cached in the tmp dir
    out_e, out_a = exact.transform(X), ann.transform(X)
    seq_e, seq_a = stack(out_e["text"]), stack(out_a["text"])
    same = (seq_e == seq_a).all(axis=2)
    assert same.mean() >= 0.95
    for toks, seq in zip(out_a["tokens"], seq_a):  # still real rows of the table
        for j, tok in enumerate(toks):
            r = table.index.get(tok, -1)
            if r >= 0:
                np.testing.assert_array_equal(seq[j], table.vectors[r])
