"""Ed25519 keys and detached signatures of model manifests (IT's offline steps).

A model version is trusted because IT signed the exact bytes of its ``manifest.json`` (which
names every file's SHA-256) with a private key kept off the network. The signature goes into
``manifest.json.sig`` beside the manifest, as a :class:`core.contracts.ModelSignature`; the
workstations verify it against the public keys their site settings list.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from core.contracts import ModelSignature
from server.errors import InvalidInput

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as IT writes it into ``model_public_keys``: 32 raw bytes, base64."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def generate_key(path: Path, *, passphrase: bytes | None = None) -> str:
    """Write a new private key (PEM, PKCS#8, encrypted with ``passphrase`` if given, readable
    by its owner only) and return its public key text.

    Raises:
        InvalidInput: ``path`` exists (a signing key is never overwritten).
    """
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InvalidInput(f"{path} exists; a signing key is never overwritten.") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return public_key_text(key.public_key())


def load_private_key(path: Path, *, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Raises InvalidInput: not readable, not an Ed25519 key, or a wrong passphrase."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except OSError as exc:
        raise InvalidInput(f"The key {path} cannot be read: {exc.strerror}.") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"The key {path} cannot be used: not a PEM private key, or the passphrase is "
            "wrong or missing."
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"The key {path} is not an Ed25519 key.")
    return key


def key_is_encrypted(path: Path) -> bool:
    try:
        return b"ENCRYPTED" in path.read_bytes()[:64]
    except OSError:
        return False


def sign_folder(folder: Path, key: Ed25519PrivateKey) -> ModelSignature:
    """Sign ``folder/manifest.json`` as it is on disk and write ``manifest.json.sig``.

    Raises:
        InvalidInput: the folder has no manifest.
    """
    manifest = folder / MANIFEST_NAME
    try:
        data = manifest.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{folder} has no readable {MANIFEST_NAME}.") from exc
    signature = ModelSignature(
        public_key=public_key_text(key.public_key()),
        signature=base64.b64encode(key.sign(data)).decode(),
    )
    (folder / SIGNATURE_NAME).write_text(signature.model_dump_json(indent=2) + "\n")
    return signature


def read_signature(folder: Path) -> ModelSignature:
    """Raises InvalidInput: no signature file, or not one."""
    path = folder / SIGNATURE_NAME
    try:
        return ModelSignature.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidInput(
            f"{folder} is not signed (no {SIGNATURE_NAME}); sign it first with "
            "`mammo-server model sign --key KEY DIR` on the offline machine."
        ) from exc
    except ValidationError as exc:
        raise InvalidInput(f"{path} is not a model signature.") from exc


def check_signature(manifest: bytes, signature: ModelSignature) -> None:
    """That ``signature`` is one of ``manifest`` by the key it names. Which keys to trust is
    each workstation's decision; the server only refuses what no workstation could accept.

    Raises:
        InvalidInput: the signature does not match (the manifest changed after signing).
    """
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(signature.public_key))
        key.verify(base64.b64decode(signature.signature), manifest)
    except (InvalidSignature, ValueError) as exc:
        raise InvalidInput(
            "The signature does not match the manifest: it was changed after signing. "
            "Sign the folder again."
        ) from exc
