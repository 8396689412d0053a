"""The model card inside a model file: what the model is, how it was trained and measured."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping

import numpy as np

from .._version import __version__
from ..embeddings import WordVectors
from ._read import read_model_file

__all__ = ["CARD_FIELDS", "build_card", "model_card"]

#: the fields save_model writes itself; a user's card may not set them
CARD_FIELDS = ("estimator", "parameters", "classes", "input_shapes", "embedding", "skmmat_version")


def _describe(est):
    steps = getattr(est, "steps", None)
    if steps is not None:
        return f"{type(est).__name__}({', '.join(type(s).__name__ for _, s in steps)})"
    inner = getattr(est, "estimator", None)
    if hasattr(inner, "get_params"):
        return f"{type(est).__name__}({type(inner).__name__})"
    return type(est).__name__


def _parameter(value):
    """A parameter as the card shows it: plain JSON values as they are, anything else by name."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else repr(float(value))
    if isinstance(value, tuple | list) and all(
        v is None or isinstance(v, bool | str | numbers.Real) for v in value
    ):
        return [_parameter(v) for v in value]
    if isinstance(value, WordVectors):
        return value.source if isinstance(value.source, str) else f"table {value.fingerprint}"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return type(value).__name__


def _final_classifier(est):
    """The estimator holding the network: a Pipeline's last step, a wrapper's fitted model."""
    while True:
        if getattr(est, "steps", None):
            est = est.steps[-1][1]
        elif hasattr(est, "estimator_"):
            est = est.estimator_
        else:
            return est


def _jsonable(value, where):
    """A user's card value as plain JSON; ValueError naming the entry otherwise."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"save_model: card entry {where} is {value!r}; use a finite number.")
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"save_model: {where} has the key {k!r}; use strings.")
            out[k] = _jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValueError(
        f"save_model: card entry {where} holds a {type(value).__name__}; a card holds "
        "strings, numbers, booleans, lists and dicts only."
    )


def build_card(estimator, tables, card=None):
    """The card save_model writes: the estimator's own fields and the user's ``card``.

    Parameters
    ----------
    estimator : fitted estimator
    tables : list of dict
        The file's word-vector table entries.
    card : mapping, optional
        The user's fields (training data, evaluation, notes).
    """
    clf = _final_classifier(estimator)
    shapes = getattr(clf, "input_shapes_", None)
    out = {
        "estimator": _describe(estimator),
        "parameters": {
            k: _parameter(v)
            for k, v in sorted(estimator.get_params(deep=True).items())
            if k != "steps" and not hasattr(v, "get_params")
        },
        "classes": [_jsonable(c, "classes") for c in np.asarray(estimator.classes_).tolist()],
        "input_shapes": None if shapes is None else {m: list(s) for m, s in shapes.items()},
        "embedding": [
            {k: t[k] for k in ("source", "fingerprint", "dim", "n_words") if k in t} for t in tables
        ],
        "skmmat_version": __version__,
    }
    if card is None:
        return out
    if not isinstance(card, Mapping):
        raise ValueError(f"save_model: card must be a dict, got {type(card).__name__}.")
    for key in card:
        if key in CARD_FIELDS:
            raise ValueError(
                f"save_model: card entry {key!r} is written by save_model itself; the card "
                f"takes other entries (such as 'training' and 'evaluation'), not {CARD_FIELDS}."
            )
    out.update(_jsonable(card, "card"))
    return out


def model_card(path, *, verify_key=None):
    """The model card of a file written by :func:`~skmmat.save_model`.

    The card is read from the file's metadata without rebuilding the model,
    after the checksum (and, with ``verify_key``, the signature) is checked:
    a card can be trusted as far as the file can.

    Parameters
    ----------
    path : str or path-like
        The model file.
    verify_key : str, path-like, Ed25519PublicKey or list of them, optional
        Trusted public keys, as for :func:`~skmmat.load_model`: the file must
        be signed by one of them.

    Returns
    -------
    card : dict
        ``estimator`` (its class and steps), ``parameters`` (every parameter,
        nested ones as ``step__name``; objects by their class name),
        ``classes``, ``input_shapes``, ``embedding`` (the word-vector tables
        with their fingerprints), ``skmmat_version``; the entries given to
        ``save_model(card=...)``, such as ``training`` (events and rows,
        task, label rule) and ``evaluation`` (clean and attacked accuracy and
        macro-F1 with the threat model), which ``skmmat train`` and
        :func:`~skmmat.experiments.run_table1` fill in; and ``signature``:
        None for an unsigned file, else ``{"signer": fingerprint,
        "verified": bool}``, ``verified`` telling whether the signature was
        checked against ``verify_key``.

    Raises
    ------
    ValueError
        As :func:`~skmmat.load_model`, for a file that is not a skmmat model,
        fails its checksum, or fails ``verify_key``.

    See Also
    --------
    save_model, load_model

    Examples
    --------
    >>> import os, tempfile
    >>> from skmmat import MultiModalCNNClassifier, model_card, save_model
    >>> from skmmat import GloveSequencer, make_crisis_tweets
    >>> df = make_crisis_tweets(60, random_state=0)
    >>> X = GloveSequencer().fit_transform(df[["text"]])
    >>> clf = MultiModalCNNClassifier(modalities=("text",), max_epochs=2, random_state=0)
    >>> clf = clf.fit(X, df["label"])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> path = save_model(clf, path, card={"training": {"rows": len(X)}})
    >>> card = model_card(path)
    >>> card["estimator"], card["classes"], card["training"], card["signature"]
    ('MultiModalCNNClassifier', ['informative', 'not_informative'], {'rows': 60}, None)
    """
    model = read_model_file(path, verify_key=verify_key, who="model_card")
    card = dict(model.document.get("card") or {})
    card["signature"] = (
        None if model.signer is None else {"signer": model.signer, "verified": model.verified}
    )
    return card
