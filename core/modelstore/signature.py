"""Checking a model version's detached Ed25519 signature against the trusted keys.

The signature covers the exact bytes of ``manifest.json``, which names every file's SHA-256,
so a valid signature by a trusted key vouches for every file of the version.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from core.contracts import ModelSignature
from core.errors import ModelRefusalKind, ModelRefusedError

SIGNATURE_NAME = "manifest.json.sig"


def parse_signature(data: bytes | None) -> ModelSignature:
    """Raises ModelRefusedError (unsigned): no signature, or not one."""
    if not data:
        raise ModelRefusedError(
            "The model is not signed; IT must sign it (mammo-server model sign) before it can "
            "be used.", kind=ModelRefusalKind.UNSIGNED)
    try:
        return ModelSignature.model_validate_json(data)
    except ValidationError as exc:
        raise ModelRefusedError(
            "The model's signature file cannot be read; IT must sign the model again.",
            kind=ModelRefusalKind.UNSIGNED) from exc


def verify_signature(manifest: bytes, signature: ModelSignature, *,
                     trusted_keys: Collection[str]) -> None:
    """That ``signature`` signs ``manifest`` with one of ``trusted_keys`` (base64 raw
    Ed25519 public keys, as in the ``model_public_keys`` setting).

    Raises:
        ModelRefusedError: unknown_key (signed with a key not in ``trusted_keys``) or
            bad_signature (the manifest was changed after signing, or the signature was).
    """
    if signature.public_key not in set(trusted_keys):
        raise ModelRefusedError(
            f"The model is signed with a key this workstation does not trust "
            f"({signature.public_key[:12]}…). Ask IT to add the department's public key to "
            "model_public_keys in site.toml, or to sign the model with that key.",
            kind=ModelRefusalKind.UNKNOWN_KEY)
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(signature.public_key))
        key.verify(base64.b64decode(signature.signature), manifest)
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise ModelRefusedError(
            "The model's signature does not match its manifest: the model was changed after "
            "IT signed it. It will not be used; ask IT to check the model on the server.",
            kind=ModelRefusalKind.BAD_SIGNATURE) from exc
