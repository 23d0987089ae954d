"""The sealing key pair derived from the master key, its key id, and how it is published.

The operator keeps one secret (the 32-byte master key) and derives the X25519 pair from it, so the
pair never needs storing and a master-key rotation is a key-pair rotation. The key id hashes the
*public* key: anyone holding the published ConfigMap can compute and check it, and it reveals
nothing about the master key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY_BYTES: Final = 32
PUBLIC_KEY_BYTES: Final = 32
SEALING_KEY_INFO: Final = b"ironflow/v1/sealing-key"
KEY_ID_LABEL: Final = b"ironflow/v1/key-id"
KEY_ID_BYTES: Final = 8

ALGORITHM: Final = "X25519-HKDF-SHA256-AES256GCM/v1"
SEALING_KEY_CONFIGMAP: Final = "ironflow-sealing-key"
CM_PUBLIC_KEY: Final = "publicKey"
CM_KEY_ID: Final = "keyId"
CM_ALGORITHM: Final = "algorithm"


class InvalidSealingKey(ValueError):
    """A published public key that cannot be used to seal; sealing with it would be unrecoverable."""


@dataclass(frozen=True)
class SealingKeyPair:
    private: X25519PrivateKey = field(repr=False, compare=False)
    public: bytes
    kid: str


def key_id(public_key: bytes) -> str:
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidSealingKey(f"public key must be {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}")
    return hashlib.sha256(KEY_ID_LABEL + public_key).digest()[:KEY_ID_BYTES].hex()


def derive_sealing_key(master_key: bytes) -> SealingKeyPair:
    if len(master_key) != MASTER_KEY_BYTES:
        # Only the length: never a byte of the key itself.
        raise ValueError(f"master key must be {MASTER_KEY_BYTES} bytes, got {len(master_key)}")
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=SEALING_KEY_INFO).derive(master_key)
    private = X25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SealingKeyPair(private=private, public=public, kid=key_id(public))


def check_public_key(public_key: bytes) -> X25519PublicKey:
    """Load raw public key bytes, turning every failure into InvalidSealingKey."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidSealingKey(f"public key must be {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}")
    try:
        return X25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:  # pragma: no cover - every 32-byte string loads today
        raise InvalidSealingKey("public key is not a valid X25519 key") from exc


def parse_public_key(text: str) -> bytes:
    """Standard base64 of the 32 raw bytes, as in the ConfigMap's publicKey (whitespace tolerated)."""
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSealingKey("public key is not valid base64") from exc
    check_public_key(raw)
    return raw


def sealing_key_configmap_data(pair: SealingKeyPair) -> dict[str, str]:
    return {
        CM_PUBLIC_KEY: base64.b64encode(pair.public).decode("ascii"),
        CM_KEY_ID: pair.kid,
        CM_ALGORITHM: ALGORITHM,
    }


def parse_sealing_key_configmap_data(data: Mapping[str, str] | None) -> tuple[bytes, str]:
    """Check the published key before anyone seals with it: a typo here would lose the value."""
    where = f"ConfigMap {SEALING_KEY_CONFIGMAP}"
    if not data:
        raise InvalidSealingKey(f"{where} has no data; is the operator running with a master key?")
    algorithm = data.get(CM_ALGORITHM)
    if algorithm is not None and algorithm != ALGORITHM:
        raise InvalidSealingKey(
            f"{where} announces algorithm {algorithm!r}; this CLI speaks {ALGORITHM}: upgrade the CLI"
        )
    text = data.get(CM_PUBLIC_KEY)
    if not text:
        raise InvalidSealingKey(f"{where} has no {CM_PUBLIC_KEY}")
    try:
        public = parse_public_key(text)
    except InvalidSealingKey as exc:
        raise InvalidSealingKey(f"{where}: {exc}") from exc
    kid = key_id(public)
    announced = data.get(CM_KEY_ID)
    if announced is not None and announced != kid:
        raise InvalidSealingKey(
            f"{where} announces key id {announced!r} but its public key has key id {kid}; "
            "the ConfigMap is damaged or was edited by hand"
        )
    return public, kid
