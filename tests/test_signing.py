"""Signed model files: Ed25519 keys, signing, verifying, and the forgeries an attacker can make."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.pipeline import make_pipeline

from skmmat import (
    GloveSequencer,
    MultiModalCNNClassifier,
    load_model,
    make_crisis_tweets,
    model_card,
    save_model,
)
from skmmat._persistence import PASSWORD_ENV, generate_key_pair, load_verify_keys
from skmmat._persistence._format import checksum

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519  # noqa: E402


@pytest.fixture(scope="module")
def data():
    df = make_crisis_tweets(80, random_state=0)
    return df[["text"]], df["label"]


@pytest.fixture(scope="module")
def model(data, tiny_params):
    X, y = data
    clf = MultiModalCNNClassifier(
        modalities=("text",), max_epochs=2, **{**tiny_params, "n_threads": 1, "random_state": 0}
    )
    return make_pipeline(GloveSequencer(), clf).fit(X, y)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two key pairs as PEM files: ours, and an attacker's."""
    folder = tmp_path_factory.mktemp("keys")
    return {
        "ours": generate_key_pair(folder, name="ours"),
        "theirs": generate_key_pair(folder, name="theirs"),
    }


@pytest.fixture(scope="module")
def signed(model, keys, tmp_path_factory):
    path = tmp_path_factory.mktemp("signed") / "model.safetensors"
    return save_model(model, path, signing_key=keys["ours"][0], card={"note": "ours"})


def read(path):
    with safe_open(str(path), framework="pt") as f:
        return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def write(path, metadata, tensors):
    metadata = dict(metadata, **{"skmmat.sha256": checksum(metadata["skmmat"], tensors)})
    save_file(tensors, str(path), metadata=metadata)
    return path


# ----------------------------------------------------------------------
# honest files
# ----------------------------------------------------------------------
def test_signed_file_loads_bit_identically_under_its_key(model, signed, keys, data):
    X, _ = data
    loaded = load_model(signed, verify_key=keys["ours"][1])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    state, state2 = model[-1].net_.module_.state_dict(), loaded[-1].net_.module_.state_dict()
    assert all(torch.equal(state[k], state2[k]) for k in state)
    # a list of trusted keys, and key objects, are accepted too
    public = serialization.load_pem_public_key(keys["ours"][1].read_bytes())
    load_model(signed, verify_key=[keys["theirs"][1], public])


def test_signature_layout_and_signer(signed, keys):
    metadata, _ = read(signed)
    assert set(metadata) == {"skmmat", "skmmat.sha256", "skmmat.signature"}
    entry = json.loads(metadata["skmmat.signature"])
    assert entry["algorithm"] == "Ed25519"
    (ours,) = load_verify_keys(keys["ours"][1])
    assert entry["signer"] == ours
    # without a verify key the file loads, and its card names the signer, unverified
    load_model(signed)
    assert model_card(signed)["signature"] == {"signer": ours, "verified": False}
    assert model_card(signed, verify_key=keys["ours"][1])["signature"]["verified"] is True


def test_fingerprint_is_that_of_the_openssh_style_raw_key(keys):
    """SHA256 of the raw 32-byte key, base64 without padding (as ssh-keygen -l shows keys)."""
    import base64
    import hashlib

    public = serialization.load_pem_public_key(keys["ours"][1].read_bytes())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected = "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    assert list(load_verify_keys(keys["ours"][1])) == [expected]


def test_key_files_are_standard_pem(keys):
    private_path, public_path = keys["ours"]
    assert oct(private_path.stat().st_mode & 0o777) == "0o600"
    private = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert private_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert public_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")  # SPKI
    with pytest.raises(ValueError, match="exists; refusing to overwrite"):
        generate_key_pair(private_path.parent, name="ours")


def test_openssl_keys_sign_and_verify(model, tmp_path):
    """Keys written by ``openssl genpkey -algorithm ed25519`` work as they are."""
    openssl = subprocess.run(["which", "openssl"], capture_output=True, text=True).stdout.strip()
    if not openssl:
        pytest.skip("openssl is not installed")
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    subprocess.run([openssl, "genpkey", "-algorithm", "ed25519", "-out", private], check=True)
    subprocess.run([openssl, "pkey", "-in", private, "-pubout", "-out", public], check=True)
    path = save_model(model, tmp_path / "m.safetensors", signing_key=private)
    load_model(path, verify_key=public)


def test_encrypted_private_key_reads_its_password_from_the_environment(
    model, tmp_path, monkeypatch
):
    private, public = generate_key_pair(tmp_path, password=b"s3cret")
    assert b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    # no terminal in the tests: no prompt, an error naming the variable
    with pytest.raises(ValueError, match=f"encrypted; set the environment variable {PASSWORD_ENV}"):
        save_model(model, tmp_path / "m.safetensors", signing_key=private)
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with pytest.raises(ValueError, match="wrong password"):
        save_model(model, tmp_path / "m.safetensors", signing_key=private)
    assert not (tmp_path / "m.safetensors").exists()  # nothing written before the key is read
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    path = save_model(model, tmp_path / "m.safetensors", signing_key=private)
    load_model(path, verify_key=public)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"signing_key": "missing.pem"}, "signing_key: no such key file: 'missing.pem'"),
        ({"signing_key": 42}, "signing_key must be the path of an Ed25519 private key"),
        ({"signing_key": "PUB"}, "cannot read the private key"),
        ({"signing_key": "EC"}, "ec.pem' holds a .*, not an Ed25519 private key"),
    ],
)
def test_bad_signing_keys_are_refused_by_name(model, keys, tmp_path, kwargs, message):
    ec_path = tmp_path / "ec.pem"
    ec_path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    value = kwargs["signing_key"]
    value = {"PUB": keys["ours"][1], "EC": ec_path}.get(value, value)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        save_model(model, tmp_path / "m.safetensors", signing_key=value)


def test_bad_verify_keys_are_refused_by_name(signed, keys):
    with pytest.raises(ValueError, match="cannot read the public key"):
        load_model(signed, verify_key=keys["ours"][0])  # a private key is not a verify key
    with pytest.raises(ValueError, match="empty list"):
        load_model(signed, verify_key=[])


def test_missing_cryptography_names_the_extra(model, keys, tmp_path, monkeypatch):
    for name in list(sys.modules):
        if name == "cryptography" or name.startswith("cryptography."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(ImportError, match=r"pip install 'skmmat\[signing\]'"):
        save_model(model, tmp_path / "m.safetensors", signing_key=keys["ours"][0])
    # without keys, nothing needs it
    load_model(save_model(model, tmp_path / "m.safetensors"))


# ----------------------------------------------------------------------
# forgeries made with skmmat itself
# ----------------------------------------------------------------------
@pytest.fixture
def tampered(signed):
    """A copy of the signed model with one weight edited, as any user can make."""
    loaded = load_model(signed)
    with torch.no_grad():
        loaded[-1].net_.module_.head[-1].bias.add_(0.5)
    return loaded


def test_edited_weights_saved_again_unsigned_are_refused(tampered, keys, tmp_path):
    path = save_model(tampered, tmp_path / "forged.safetensors")
    load_model(path)  # a checksum alone cannot tell
    with pytest.raises(ValueError, match="is not signed, and a verify_key was given"):
        load_model(path, verify_key=keys["ours"][1])


def test_edited_weights_signed_with_another_key_are_refused(tampered, keys, tmp_path):
    path = save_model(tampered, tmp_path / "forged.safetensors", signing_key=keys["theirs"][0])
    (theirs,) = load_verify_keys(keys["theirs"][1])
    with pytest.raises(
        ValueError, match=f"is signed by {re.escape(theirs)}, which is not among the trusted"
    ):
        load_model(path, verify_key=keys["ours"][1])


def test_signature_copied_from_another_signed_file_is_refused(signed, tampered, keys, tmp_path):
    path = save_model(tampered, tmp_path / "forged.safetensors")
    metadata, tensors = read(path)
    genuine, _ = read(signed)
    metadata["skmmat.signature"] = genuine["skmmat.signature"]
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="bad signature in .*changed after .* signed it"):
        load_model(path, verify_key=keys["ours"][1])


def test_edited_weights_with_a_recomputed_checksum_keep_no_valid_signature(signed, keys, tmp_path):
    metadata, tensors = read(signed)
    name = next(k for k in tensors if k.endswith("bias"))
    tensors[name] = tensors[name] + 1.0
    path = write(tmp_path / "forged.safetensors", metadata, tensors)
    with pytest.raises(ValueError, match="bad signature"):
        load_model(path, verify_key=keys["ours"][1])


def test_edited_card_is_refused(signed, keys, tmp_path):
    metadata, tensors = read(signed)
    doc = json.loads(metadata["skmmat"])
    doc["card"]["note"] = "trained on 1,000,000 tweets"
    edited = dict(metadata, skmmat=json.dumps(doc, sort_keys=True))
    unsummed = tmp_path / "unsummed.safetensors"
    save_file(tensors, str(unsummed), metadata=edited)
    with pytest.raises(ValueError, match="checksum mismatch"):
        model_card(unsummed)
    path = write(tmp_path / "forged.safetensors", edited, tensors)
    assert model_card(path)["note"] == "trained on 1,000,000 tweets"  # unverified: as written
    with pytest.raises(ValueError, match="model_card: bad signature"):
        model_card(path, verify_key=keys["ours"][1])
    with pytest.raises(ValueError, match="load_model: bad signature"):
        load_model(path, verify_key=keys["ours"][1])


def test_signer_entry_swapped_for_a_trusted_key_is_refused(signed, tampered, keys, tmp_path):
    """The attacker's signature under our public key and fingerprint does not verify."""
    path = save_model(tampered, tmp_path / "forged.safetensors", signing_key=keys["theirs"][0])
    metadata, tensors = read(path)
    entry = json.loads(metadata["skmmat.signature"])
    genuine = json.loads(read(signed)[0]["skmmat.signature"])
    entry["public_key"], entry["signer"] = genuine["public_key"], genuine["signer"]
    metadata["skmmat.signature"] = json.dumps(entry)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="bad signature"):
        load_model(path, verify_key=keys["ours"][1])
    # a signer that does not match its key is malformed, whatever the keys
    entry["signer"] = "SHA256:" + "A" * 43
    metadata["skmmat.signature"] = json.dumps(entry)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="malformed signature entry"):
        load_model(path)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_damaged_signed_files_are_refused(signed, keys, tmp_path, damage):
    raw = bytearray(signed.read_bytes())
    if damage == "flip":
        raw[-5] ^= 0x01
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = b""
    path = tmp_path / "damaged.safetensors"
    path.write_bytes(bytes(raw))
    message = "checksum mismatch" if damage == "flip" else "not a valid safetensors file"
    with pytest.raises(ValueError, match=message):
        load_model(path, verify_key=keys["ours"][1])
