"""Tweet-aware tokenizer used by :class:`~skmmat.preprocessing.GloveSequencer`."""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy

__all__ = ["tokenize_tweet"]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_RETWEET = re.compile(r"(?<!\w)RT(?=\s|:|$)")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


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
    5. Words are runs of letters or digits (any script), joined by inner
       apostrophes (``don't``); punctuation, emoji, symbols and control
       characters separate words and are dropped, so each of the few kept
       positions carries a word.
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
    if not isinstance(text, str):
        return []
    if not text:
        return []
    if max_tokens is not None:
        # words are at most a few dozen characters apart; cap the work on huge texts
        text = text[: max(4096, 64 * max_tokens)]
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
