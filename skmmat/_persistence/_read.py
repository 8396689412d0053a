"""Reading a model file: its tensors and document, checked against the checksum and signature."""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass

from ._format import DOC_KEY, FORMAT_VERSION, SUM_KEY, checksum
from ._signing import load_verify_keys, read_signature, verify

__all__ = ["ModelFile", "read_model_file"]


@dataclass
class ModelFile:
    """A model file's content once its checksum (and signature, when asked) is checked."""

    document: dict
    tensors: dict
    signer: str | None  # the fingerprint the signature names, None when unsigned
    verified: bool  # whether the signature was checked against a trusted key


def read_model_file(path, *, verify_key=None, who="load_model"):
    """Read and check a model file written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
    verify_key : key, path, or list of them, optional
        Trusted Ed25519 public keys; the file must carry a valid signature by
        one of them.
    who : str
        The public function reading, for error messages.

    Returns
    -------
    ModelFile
    """
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    trusted = None if verify_key is None else load_verify_keys(verify_key)
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except SafetensorError as exc:
        raise ValueError(f"{who}: {path!r} is not a valid safetensors file: {exc}") from exc
    if DOC_KEY not in metadata or SUM_KEY not in metadata:
        raise ValueError(f"{who}: {path!r} is not a skmmat model file (no skmmat metadata).")
    document = metadata[DOC_KEY]
    if not hmac.compare_digest(checksum(document, tensors), metadata[SUM_KEY]):
        raise ValueError(
            f"{who}: checksum mismatch: the file was modified or corrupted ({path!r})."
        )
    signature = read_signature(metadata, path, who)
    if trusted is not None:
        verify(metadata, signature, trusted, path, who)
    try:
        doc = json.loads(document)
    except json.JSONDecodeError as exc:  # pragma: no cover - the checksum covers it
        raise ValueError(f"{who}: {path!r} holds a malformed document.") from exc
    if not isinstance(doc, dict) or doc.get("format") != "skmmat-model":
        raise ValueError(f"{who}: {path!r} is not a skmmat model file.")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{who}: {path!r} has format version {version!r}; this skmmat reads version "
            f"{FORMAT_VERSION} (file written by skmmat {doc.get('skmmat_version')!r})."
        )
    signer = None if signature is None else signature["signer"]
    return ModelFile(doc, tensors, signer, trusted is not None)
