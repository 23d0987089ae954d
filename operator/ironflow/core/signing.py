"""The operator's signing identity: an Ed25519 key derived from the master key, and what it signs.

Why: the sealing-key ConfigMap lives in each tenant namespace, so anyone who may edit ConfigMaps
there could swap in their own public key (and harvest what users seal) if the CLI believed it
as-is. The operator therefore signs what it publishes with a key only a master-key holder can
derive, and the CLI trusts a signer it pinned (or one an administrator published where tenants
cannot write). The signed statement binds the environment, so a ConfigMap copied from another
namespace fails to verify. On rotation each signer is endorsed by the one before it (the signer
chain, core/signer_chain.py), so a pin can follow the rotations the operator really made, and
nothing else (docs/crypto.md, "Trust").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIGNING_KEY_INFO: Final = b"ironflow/v1/signing-key"
SIGNER_ID_LABEL: Final = b"ironflow/v1/signer-id"
STATEMENT_LABEL: Final = b"ironflow/v1/sealing-key-statement\n"
SIGNER_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
SIGNER_ID_BYTES: Final = 16


class InvalidSignerKey(ValueError):
    """A published signer key or signature that is not even well-formed."""


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey = field(repr=False, compare=False)
    public: bytes
    id: str


def signer_id(public: bytes) -> str:
    """128 bits of SHA-256 over the public key: short enough to read aloud, long enough to pin."""
    if len(public) != SIGNER_KEY_BYTES:
        raise InvalidSignerKey(f"signer key must be {SIGNER_KEY_BYTES} bytes, got {len(public)}")
    return hashlib.sha256(SIGNER_ID_LABEL + public).digest()[:SIGNER_ID_BYTES].hex()


def derive_signer(master_key: bytes) -> Signer:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=SIGNING_KEY_INFO).derive(master_key)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Signer(private=private, public=public, id=signer_id(public))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode("".join(str(text).split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignerKey(f"{what} is not valid base64") from None
    if len(raw) != size:
        raise InvalidSignerKey(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def statement(namespace: str, public_key: bytes, kid: str, algorithm: str) -> bytes:
    """The exact bytes signed for one environment: canonical JSON after a domain label."""
    body = {"algorithm": algorithm, "keyId": kid, "namespace": namespace, "publicKey": b64(public_key)}
    return STATEMENT_LABEL + json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def sign(signer: Signer, message: bytes) -> str:
    return b64(signer.private.sign(message))


def verify(signer_public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(signer_public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
