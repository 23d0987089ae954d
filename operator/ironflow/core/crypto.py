"""Sealing and unsealing values: ephemeral X25519, HKDF-SHA256, AES-256-GCM (docs/crypto.md).

Sealing needs only the published public key, so users and CI seal without the master key; only the
operator's Keyring can unseal. Randomness is a parameter so known-answer vectors are reproducible;
production always uses os.urandom. This module is the public face: the format, key and error
modules behind it are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ironflow.core.crypto_errors import (
    AuthenticationFailed,
    DevValueRefused,
    InvalidTarget,
    MalformedSealedValue,
    NoMasterKey,
    UnknownFormatVersion,
    UnsealError,
    ValueTooLarge,
    WrongKey,
)
from ironflow.core.keyring import Keyring
from ironflow.core.names import InvalidName, InvalidNamespace, validate_name, validate_namespace
from ironflow.core.sealed_format import (
    DEV_PREFIX,
    EPHEMERAL_BYTES,
    FORMAT_VERSION,
    MAX_PLAINTEXT_BYTES,
    MAX_SEALED_CHARS,
    NONCE_BYTES,
    SEALED_PATTERN,
    SealedValue,
    associated_data,
    dev_value,
    format_sealed,
    is_dev_form,
    parse_sealed,
)
from ironflow.core.sealing_key import (
    ALGORITHM,
    SEALING_KEY_CONFIGMAP,
    InvalidSealingKey,
    SealingKeyPair,
    check_public_key,
    derive_sealing_key,
    key_id,
    parse_public_key,
    parse_sealing_key_configmap_data,
    sealing_key_configmap_data,
)

__all__ = [
    "ALGORITHM",
    "DEV_PREFIX",
    "FORMAT_VERSION",
    "MAX_PLAINTEXT_BYTES",
    "MAX_SEALED_CHARS",
    "SEALED_PATTERN",
    "SEALING_KEY_CONFIGMAP",
    "SEAL_INFO",
    "AuthenticationFailed",
    "DevValueRefused",
    "InvalidSealingKey",
    "InvalidTarget",
    "MalformedSealedValue",
    "NoMasterKey",
    "SealedValue",
    "SealingKeyPair",
    "UnknownFormatVersion",
    "UnsealError",
    "ValueTooLarge",
    "WrongKey",
    "derive_sealing_key",
    "dev_value",
    "is_dev_form",
    "key_id",
    "parse_public_key",
    "parse_sealed",
    "parse_sealing_key_configmap_data",
    "seal",
    "sealing_key_configmap_data",
    "unseal",
]

SEAL_INFO = b"ironflow/v1/seal"


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _message_key(shared: bytes, ephemeral_public: bytes, sealing_public: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + sealing_public, info=SEAL_INFO
    ).derive(shared)


def _random(rand: Callable[[int], bytes], size: int) -> bytes:
    data = rand(size)
    if len(data) != size:
        raise ValueError(f"random source returned {len(data)} bytes, {size} requested")
    return data


def seal(
    public_key: bytes,
    namespace: str,
    name: str,
    plaintext: bytes,
    *,
    rand: Callable[[int], bytes] = os.urandom,
) -> str:
    """Raises InvalidNamespace / InvalidName / ValueTooLarge / InvalidSealingKey (all ValueError)."""
    validate_namespace(namespace)
    validate_name(name)
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueTooLarge(
            f"value for {name} is {len(plaintext)} bytes; at most {MAX_PLAINTEXT_BYTES} can be sealed"
        )
    recipient = check_public_key(public_key)
    kid = key_id(public_key)
    ephemeral = X25519PrivateKey.from_private_bytes(_random(rand, EPHEMERAL_BYTES))
    ephemeral_public = _raw(ephemeral.public_key())
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError as exc:  # a low-order point: the "public key" could never be unsealed
        raise InvalidSealingKey("public key is not a usable X25519 key") from exc
    nonce = _random(rand, NONCE_BYTES)
    aes_key = _message_key(shared, ephemeral_public, public_key)
    ciphertext = AESGCM(aes_key).encrypt(nonce, plaintext, associated_data(namespace, name, kid))
    return format_sealed(kid, ephemeral_public, nonce, ciphertext)


def _check_target(namespace: str, name: str) -> None:
    try:
        validate_namespace(namespace)
        validate_name(name)
    except (InvalidNamespace, InvalidName) as exc:
        raise InvalidTarget(str(exc)) from None


def _unseal_dev(keyring: Keyring, name: str, sealed: str, allow_dev: bool) -> bytes:
    if not keyring.dev_mode:
        raise DevValueRefused(
            f"value for {name} is in dev form ({DEV_PREFIX}...) but the operator has a master key; "
            "seal it with `ironflow secret seal`"
        )
    if not allow_dev:
        raise DevValueRefused(
            f"value for {name} is in dev form ({DEV_PREFIX}...), which is not accepted here"
        )
    try:
        plaintext = sealed[len(DEV_PREFIX) :].encode("utf-8")
    except UnicodeEncodeError:  # its own message would quote the offending character
        raise MalformedSealedValue(f"dev-form value for {name} is not valid UTF-8 text") from None
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise MalformedSealedValue(f"dev-form value for {name} is longer than {MAX_PLAINTEXT_BYTES} bytes")
    return plaintext


def unseal(keyring: Keyring, namespace: str, name: str, sealed: str, *, allow_dev: bool) -> bytes:
    """Every refusal is an UnsealError whose message names the cause, never the value."""
    _check_target(namespace, name)
    if not isinstance(sealed, str):
        raise MalformedSealedValue(f"value for {name} must be a string, not {type(sealed).__name__}")
    if is_dev_form(sealed):
        return _unseal_dev(keyring, name, sealed, allow_dev)
    parsed = parse_sealed(sealed)
    if keyring.dev_mode:
        raise NoMasterKey(parsed.kid)
    pair = keyring.find(parsed.kid)
    if pair is None:
        raise WrongKey(parsed.kid, keyring.kids)
    try:
        shared = pair.private.exchange(X25519PublicKey.from_public_bytes(parsed.ephemeral_public))
    except ValueError:  # low-order ephemeral point: forged, never produced by seal()
        raise AuthenticationFailed(namespace, name) from None
    aes_key = _message_key(shared, parsed.ephemeral_public, pair.public)
    try:
        return AESGCM(aes_key).decrypt(
            parsed.nonce, parsed.ciphertext, associated_data(namespace, name, parsed.kid)
        )
    except InvalidTag:
        raise AuthenticationFailed(namespace, name) from None
