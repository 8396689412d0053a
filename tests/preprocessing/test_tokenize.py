"""Tests of tokenize_tweet, the tweet tokenizer in front of the GloVe lookup."""

import time
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skmmat.embeddings import load_vectors
from skmmat.preprocessing import GloveSequencer, tokenize_tweet


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the docstring's example
        (
            "RT @cnn: Flooding in #HoustonTX &amp; more https://t.co/x",
            ["flooding", "in", "houston", "tx", "more"],
        ),
        # URLs
        ("Flooding https://t.co/AbC123 now", ["flooding", "now"]),
        ("see http://example.com/a?b=1&c=2 and www.redcross.org/donate", ["see", "and"]),
        ("HTTPS://T.CO/X flood", ["flood"]),
        # mentions and retweets
        ("@FEMA @RedCross: help needed", ["help", "needed"]),
        ("RT @user: roads closed", ["roads", "closed"]),
        ("ART exhibit RT", ["art", "exhibit"]),  # only the standalone marker goes
        # hashtags keep their words
        ("#HurricaneHarvey", ["hurricane", "harvey"]),
        ("#PrayForHouston", ["pray", "for", "houston"]),
        ("#harvey2017 #hurricane_irma", ["harvey", "2017", "hurricane", "irma"]),
        ("#HOUSTONStrong", ["houston", "strong"]),
        # HTML entities
        ("Food &amp; water", ["food", "water"]),
        ("&quot;evacuate&quot; now", ["evacuate", "now"]),
        ("don&#39;t panic", ["don't", "panic"]),
        # mojibake (UTF-8 read as cp1252 / latin-1)
        ("Donâ€™t go", ["don't", "go"]),
        ("Don\u00e2\u0080\u0099t go", ["don't", "go"]),
        ("cafÃ© closed", ["café", "closed"]),
        # apostrophes, curly or straight, inside words only
        ("don\u2019t 'flood' \"fire\"", ["don't", "flood", "fire"]),
        # emoji, symbols and punctuation separate and are dropped
        ("Flood 🌊🌊 now 😢!!!", ["flood", "now"]),
        ("flood🌊water", ["flood", "water"]),
        ("help... please?! ($100)", ["help", "please", "100"]),
        # NFKC: full-width letters and ligatures
        ("ＦＬＯＯＤ ﬁre", ["flood", "fire"]),
        # right-to-left scripts, with and without vowel points
        ("فيضانات في هيوستن", ["فيضانات", "في", "هيوستن"]),
        ("مُحَمَّد", ["مُحَمَّد"]),
        ("שיטפון בטקסס", ["שיטפון", "בטקסס"]),
        ("שָׁלוֹם", ["שָׁלוֹם"]),
        # scripts whose vowel signs are combining marks
        ("बाढ़ राहत", ["बाढ़", "राहत"]),
        ("#बाढ़", ["बाढ़"]),
        # control characters separate words, never glue them
        ("flood\x00waters\x07rise\x1bnow\x7fok", ["flood", "waters", "rise", "now", "ok"]),
        ("line\tone\r\nline\x0btwo", ["line", "one", "line", "two"]),
        # whitespace only
        ("   \n\t ", []),
    ],
)
def test_tokenize_tweet(text, expected):
    assert tokenize_tweet(text) == expected


@pytest.mark.parametrize("empty", [None, float("nan"), np.nan, pd.NA, "", 42, 3.5, b"flood", []])
def test_missing_and_non_string_texts_give_no_tokens(empty):
    assert tokenize_tweet(empty) == []
    assert tokenize_tweet(empty, max_tokens=5) == []


def test_max_tokens():
    text = "one two three four five"
    assert tokenize_tweet(text, max_tokens=2) == ["one", "two"]
    assert tokenize_tweet(text, max_tokens=5) == text.split()
    assert tokenize_tweet(text, max_tokens=50) == text.split()
    assert tokenize_tweet(text, max_tokens=0) == []
    assert tokenize_tweet(text, max_tokens=np.int64(1)) == ["one"]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_max_tokens_raises(bad):
    with pytest.raises(ValueError, match="max_tokens"):
        tokenize_tweet("a b", max_tokens=bad)


def test_huge_text_is_fast_and_respects_max_tokens():
    segment = "Flood waters rise in #HoustonTX https://t.co/abc @user &amp; 🌊 "
    n_segments = 100_000 // len(segment)
    text = (segment * n_segments).ljust(100_000)
    start = time.perf_counter()
    tokens = tokenize_tweet(text, max_tokens=15)
    assert time.perf_counter() - start < 0.5
    assert tokens == ["flood", "waters", "rise", "in", "houston", "tx"] * 2 + [
        "flood",
        "waters",
        "rise",
    ]

    start = time.perf_counter()
    everything = tokenize_tweet(text)
    assert time.perf_counter() - start < 5
    assert len(everything) == 6 * n_segments
    assert everything[:15] == tokens


def test_huge_single_word_and_huge_mark_run_are_fast():
    start = time.perf_counter()
    assert tokenize_tweet("a" * 100_000) == ["a" * 100_000]
    assert tokenize_tweet("\u0301" * 100_000) == []  # marks without a letter
    assert len(tokenize_tweet("a\u0301" * 50_000, max_tokens=15)) == 1
    assert time.perf_counter() - start < 3


# ---------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------

_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_tweets = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.lists(
        st.sampled_from(
            [
                "RT",
                "@cnn",
                "#HurricaneHarvey",
                "https://t.co/x",
                "&amp;",
                "Donâ€™t",
                "🌊",
                "flood",
                "مُحَمَّد",
                "\x00",
                "\u200b",
                "'",
                "’",
                "_",
                "İ",
                "ß",
                " ",
                "\n",
            ]
        ),
        max_size=40,
    ).map("".join),
)


@_SETTINGS
@given(text=_tweets, max_tokens=st.one_of(st.none(), st.integers(0, 20)))
def test_any_text_gives_clean_lowercase_tokens(text, max_tokens):
    tokens = tokenize_tweet(text, max_tokens=max_tokens)
    assert isinstance(tokens, list)
    if max_tokens is not None:
        assert len(tokens) <= max_tokens
    for token in tokens:
        assert isinstance(token, str)
        assert token
        assert token == token.lower()
        assert not any(ch.isspace() for ch in token)
        assert not any(unicodedata.category(ch) == "Cc" for ch in token)
        assert token[0] not in "'’_"
        assert token[-1] not in "'’"


@pytest.fixture(scope="module")
def fitted_sequencer():
    return GloveSequencer().fit(pd.DataFrame({"text": ["flood"]}))


@_SETTINGS
@given(text=_tweets)
def test_any_text_gives_a_finite_glove_sequence(fitted_sequencer, text):
    table = load_vectors("glove-6b-50d")
    out = fitted_sequencer.transform(pd.DataFrame({"text": [text]}))
    seq = out["text"].iloc[0]
    tokens = out["tokens"].iloc[0]
    assert isinstance(seq, np.ndarray)
    assert seq.shape == (15, 50)
    assert seq.dtype == np.float32
    assert np.isfinite(seq).all()
    # the tokenizer's words, each kept or split into a known stem and clitic
    words = tokenize_tweet(text, max_tokens=15)
    joined = "".join(tokens)
    assert "".join(words).startswith(joined)
    if len(tokens) < 15:
        assert joined == "".join(words)  # nothing cut off
    for i in range(15):
        row = table.lookup([tokens[i]])[0] if i < len(tokens) else -1
        expected = table.vectors[row] if row >= 0 else np.zeros(50, np.float32)
        np.testing.assert_array_equal(seq[i], expected)
