"""Ed25519 signatures of model files: keys, fingerprints, signing and verifying.

A signature covers every metadata entry of the file but itself, canonically
encoded. One of those entries is the SHA-256 checksum over the JSON document
and every tensor's name, dtype, shape and bytes, which loading checks against
the tensors, so the signature covers everything :func:`load_model` reads while
hashing the tensor bytes only once.

Keys are standard PEM files (``openssl genpkey -algorithm ed25519``): PKCS#8
private keys, encrypted or not, and SubjectPublicKeyInfo public keys. The
``cryptography`` package does the cryptography; it is the optional extra
``skmmat[signing]``.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "PASSWORD_ENV",
    "SIG_KEY",
    "fingerprint",
    "generate_key_pair",
    "load_signing_key",
    "load_verify_keys",
    "read_signature",
    "sign",
    "verify",
]

#: metadata entry holding the signature (a JSON object)
SIG_KEY = "skmmat.signature"
#: environment variable read for the password of an encrypted private key
PASSWORD_ENV = "SKMMAT_KEY_PASSWORD"
_DOMAIN = b"skmmat-model-signature\0v1\0"
_ALGORITHM = "Ed25519"


def _crypto():
    """The ``cryptography`` modules, or an ImportError naming the extra."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:
        raise ImportError(
            "Signing and verifying model files needs the 'cryptography' package: "
            "pip install 'skmmat[signing]'."
        ) from exc
    return ed25519, serialization, InvalidSignature


def _raw_public(public_key):
    _, serialization, _ = _crypto()
    return public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def fingerprint(public_key):
    """``"SHA256:"`` and the unpadded base64 SHA-256 of the raw 32-byte public key.

    Parameters
    ----------
    public_key : Ed25519PublicKey or Ed25519PrivateKey
        A private key stands for its public half.

    Returns
    -------
    fingerprint : str
    """
    ed25519, _, _ = _crypto()
    if isinstance(public_key, ed25519.Ed25519PrivateKey):
        public_key = public_key.public_key()
    return _fingerprint_raw(_raw_public(public_key))


def _fingerprint_raw(raw):
    digest = hashlib.sha256(raw).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _read_pem(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: no such key file: {os.fspath(path)!r}") from None
    except IsADirectoryError:
        raise ValueError(f"{what}: {os.fspath(path)!r} is a folder, not a key file.") from None


def _password(path, what):
    """The password of an encrypted private key: the environment variable or a prompt."""
    value = os.environ.get(PASSWORD_ENV)
    if value is not None:
        return value.encode("utf-8")
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"Password for {os.fspath(path)}: ").encode("utf-8")
    raise ValueError(
        f"{what}: the private key {os.fspath(path)!r} is encrypted; set the environment "
        f"variable {PASSWORD_ENV} to its password (or run in a terminal to be asked for it)."
    )


def load_signing_key(key, *, what="signing_key"):
    """An Ed25519 private key from a PEM file path or a key object.

    Parameters
    ----------
    key : str, path-like or Ed25519PrivateKey
        A PKCS#8 PEM file (encrypted keys take their password from the
        environment variable ``SKMMAT_KEY_PASSWORD`` or a prompt) or a key.
    what : str
        The parameter's name, for error messages.

    Returns
    -------
    key : Ed25519PrivateKey
    """
    ed25519, serialization, _ = _crypto()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if not isinstance(key, str | os.PathLike):
        raise ValueError(
            f"{what} must be the path of an Ed25519 private key (PEM) or an "
            f"Ed25519PrivateKey, got {type(key).__name__}."
        )
    data = _read_pem(key, what)
    try:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except TypeError:  # encrypted: ask for the password
            private = serialization.load_pem_private_key(data, password=_password(key, what))
    except ValueError as exc:
        raise ValueError(
            f"{what}: cannot read the private key {os.fspath(key)!r} (not a PEM private key, "
            f"or a wrong password): {exc}"
        ) from None
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise ValueError(
            f"{what}: {os.fspath(key)!r} holds a {type(private).__name__}, not an Ed25519 "
            "private key (openssl genpkey -algorithm ed25519, or skmmat keygen)."
        )
    return private


def load_verify_keys(keys, *, what="verify_key"):
    """Trusted Ed25519 public keys from paths, key objects or a list of them.

    Parameters
    ----------
    keys : str, path-like, Ed25519PublicKey, or a list of them
        SubjectPublicKeyInfo PEM files or keys. A private key's file is not
        accepted: a verifier needs only the public key.
    what : str
        The parameter's name, for error messages.

    Returns
    -------
    keys : dict of str -> Ed25519PublicKey
        By fingerprint.
    """
    ed25519, serialization, _ = _crypto()
    if isinstance(keys, str | os.PathLike | ed25519.Ed25519PublicKey):
        keys = [keys]
    if not isinstance(keys, Iterable):
        raise ValueError(
            f"{what} must be an Ed25519 public key, the path of one (PEM), or a list of them; "
            f"got {type(keys).__name__}."
        )
    out = {}
    for key in keys:
        if isinstance(key, ed25519.Ed25519PublicKey):
            public = key
        elif isinstance(key, str | os.PathLike):
            data = _read_pem(key, what)
            try:
                public = serialization.load_pem_public_key(data)
            except ValueError as exc:
                raise ValueError(
                    f"{what}: cannot read the public key {os.fspath(key)!r} (a PEM "
                    f"SubjectPublicKeyInfo file is expected): {exc}"
                ) from None
            if not isinstance(public, ed25519.Ed25519PublicKey):
                raise ValueError(
                    f"{what}: {os.fspath(key)!r} holds a {type(public).__name__}, not an "
                    "Ed25519 public key."
                )
        else:
            raise ValueError(
                f"{what}: expected an Ed25519 public key or the path of one, got "
                f"{type(key).__name__}."
            )
        out[fingerprint(public)] = public
    if not out:
        raise ValueError(f"{what} is an empty list: give at least one trusted public key.")
    return out


def _message(metadata):
    """The bytes signed: every metadata entry but the signature, canonically encoded."""
    entries = {k: v for k, v in metadata.items() if k != SIG_KEY}
    return _DOMAIN + json.dumps(entries, sort_keys=True, ensure_ascii=False).encode("utf-8")


def sign(metadata, private_key):
    """The signature entry for ``metadata``: a JSON string for :data:`SIG_KEY`."""
    public = private_key.public_key()
    raw = _raw_public(public)
    return json.dumps(
        {
            "algorithm": _ALGORITHM,
            "public_key": base64.b64encode(raw).decode("ascii"),
            "signer": _fingerprint_raw(raw),
            "signature": base64.b64encode(private_key.sign(_message(metadata))).decode("ascii"),
        },
        sort_keys=True,
    )


def read_signature(metadata, path, who="load_model"):
    """The file's signature entry as a dict, None when unsigned; ValueError when malformed."""
    entry = metadata.get(SIG_KEY)
    if entry is None:
        return None
    try:
        sig = json.loads(entry)
        if not isinstance(sig, dict) or sig.get("algorithm") != _ALGORITHM:
            raise ValueError
        raw_key = base64.b64decode(sig["public_key"], validate=True)
        raw_sig = base64.b64decode(sig["signature"], validate=True)
        if len(raw_key) != 32 or len(raw_sig) != 64 or sig["signer"] != _fingerprint_raw(raw_key):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            f"{who}: {path!r} holds a malformed signature entry; refusing the file."
        ) from None
    return {"signer": sig["signer"], "public_key": raw_key, "signature": raw_sig}


def verify(metadata, signature, trusted, path, who="load_model"):
    """Check a file's signature against trusted keys; return the signer's fingerprint.

    Parameters
    ----------
    metadata : dict
        The file's metadata (the checksum already checked against the tensors).
    signature : dict or None
        From :func:`read_signature`.
    trusted : dict of str -> Ed25519PublicKey
        From :func:`load_verify_keys`.
    path, who : str
        The file and the calling function, for error messages.
    """
    _, _, InvalidSignature = _crypto()
    if signature is None:
        raise ValueError(
            f"{who}: {path!r} is not signed, and a verify_key was given: refusing an unsigned file."
        )
    key = trusted.get(signature["signer"])
    if key is None:
        raise ValueError(
            f"{who}: {path!r} is signed by {signature['signer']}, which is not among the "
            f"trusted keys ({', '.join(sorted(trusted))}); refusing the file."
        )
    try:
        key.verify(signature["signature"], _message(metadata))
    except InvalidSignature:
        raise ValueError(
            f"{who}: bad signature in {path!r}: the file was changed after "
            f"{signature['signer']} signed it, or the signature was taken from another file; "
            "refusing the file."
        ) from None
    return signature["signer"]


def generate_key_pair(folder, *, password=None, name="skmmat_ed25519"):
    """Write a new Ed25519 key pair as PEM files; the private one with mode 0600.

    Parameters
    ----------
    folder : str or path-like
        Created if needed. Existing key files are never overwritten.
    password : bytes, optional
        Encrypts the private key (PKCS#8, best available encryption).
    name : str
        File stem: ``{name}.pem`` (private) and ``{name}.pub.pem`` (public).

    Returns
    -------
    private_path, public_path : pathlib.Path
    """
    ed25519, serialization, _ = _crypto()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    for p in (private_path, public_path):
        if p.exists():
            raise ValueError(f"keygen: {p} exists; refusing to overwrite a key.")
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
    public_path.write_bytes(public_pem)
    return private_path, public_path
