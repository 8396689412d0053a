"""Tweet-aware tokenizer used by :class:`~skmmat.preprocessing.GloveSequencer`."""

from __future__ import annotations

import html
import numbers
import re
import unicodedata

import ftfy

__all__ = ["tokenize_tweet"]


def _mark_ranges():
    """Regex class body of the combining marks (Unicode categories Mn, Mc, Me).

    Python's ``\\w`` does not match them, yet they belong to words: Arabic and
    Hebrew vowel points, the vowel signs of Devanagari, Thai, Bengali...
    """
    codes = [c for c in range(0x300, 0x20000) if unicodedata.category(chr(c))[0] == "M"]
    codes += range(0xE0100, 0xE01F0)  # variation selectors supplement
    ranges, start, prev = [], codes[0], codes[0]
    for code in codes[1:]:
        if code != prev + 1:
            ranges.append((start, prev))
            start = code
        prev = code
    ranges.append((start, prev))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


_MARKS = _mark_ranges()
# C0 controls and DEL: ftfy would delete them and glue the words around them
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_RETWEET = re.compile(r"(?<!\w)RT(?=\s|:|$)")
_HASHTAG = re.compile(rf"(?<![\w#])#([\w{_MARKS}]+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_LETTER = rf"[^\W_][{_MARKS}]*"  # a letter or digit and its combining marks
_WORD = re.compile(rf"(?:{_LETTER})+(?:['\u2019](?:{_LETTER})+)*")


def _split_hashtag(match):
    return " " + _CAMEL.sub(" ", match.group(1).replace("_", " ")) + " "


def tokenize_tweet(text, *, max_tokens=None):
    """Split a tweet into lower-case words, the way GloVe tables spell them.

    The steps, each chosen for the GloVe vocabulary and for the paper's
    "first 15 words" of a tweet:

    1. ``None``, NaN and non-string cells give no tokens (an empty sequence,
       never an error).
    2. Mojibake (UTF-8 read as cp1252, common in CrisisMMD: ``"donâ€™t"``) is
       repaired with :func:`ftfy.fix_text`, HTML entities (``&amp;``) are
       decoded, and the text is NFKC-normalised (full-width letters,
       ligatures).
    3. URLs and ``@mentions`` are removed: they are never in a GloVe table
       and would spend word positions on noise. A retweet marker ``RT`` is
       removed for the same reason.
    4. ``#hashtags`` keep their words: the ``#`` goes and CamelCase is split,
       so ``#HurricaneHarvey`` gives ``hurricane harvey``.
    5. Words are runs of letters or digits (any script, with their combining
       marks: Arabic and Hebrew vowel points, Devanagari vowel signs), joined
       by inner apostrophes (``don't``); punctuation, emoji, symbols and
       control characters separate words and are dropped, so each of the few
       kept positions carries a word.
    6. Everything is lower-cased, as GloVe 6B and GloVe Twitter are.

    Parameters
    ----------
    text : str or None
        The tweet.
    max_tokens : int, optional
        Stop after this many tokens; a 100,000-character text costs no more
        than its first words.

    Returns
    -------
    tokens : list of str

    Examples
    --------
    >>> from skmmat.preprocessing import tokenize_tweet
    >>> tokenize_tweet("RT @cnn: Flooding in #HoustonTX &amp; more https://t.co/x")
    ['flooding', 'in', 'houston', 'tx', 'more']
    """
    if max_tokens is not None and (
        not isinstance(max_tokens, numbers.Integral)
        or isinstance(max_tokens, bool)
        or max_tokens < 0
    ):
        raise ValueError(f"max_tokens must be a non-negative integer or None, got {max_tokens!r}.")
    if not isinstance(text, str) or not text or max_tokens == 0:
        return []
    if max_tokens is not None:
        # words are at most a few dozen characters apart; cap the work on huge texts
        text = text[: max(4096, 64 * max_tokens)]
    text = _CONTROL.sub(" ", text)
    text = html.unescape(ftfy.fix_text(text, unescape_html=False))
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _RETWEET.sub(" ", text)
    text = _HASHTAG.sub(_split_hashtag, text)
    tokens = []
    for match in _WORD.finditer(text):
        tokens.append(match.group(0).lower().replace("\u2019", "'"))
        if max_tokens is not None and len(tokens) >= max_tokens:
            break
    return tokens
