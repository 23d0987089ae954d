"""Sealed Secrets' sealing format in Python, so the benchmark client seals offline like kubeseal.

Read from the module's `pkg/crypto/crypto.go` (v0.40.0): a fresh 32-byte AES-256-GCM session key
seals the value with an all-zero 12-byte nonce (safe: the key is never reused); the session key is
RSA-OAEP(SHA-256, MGF1-SHA-256) encrypted with the label; the ciphertext is a big-endian uint16
length of the RSA part, the RSA part, then AES-GCM's ciphertext and tag; the manifest carries it
in standard base64. The strict scope's label is `namespace/name` of the SealedSecret
(`EncryptionLabel` in pkg/apis/sealedsecrets/v1alpha1). The sealing key is a `kubernetes.io/tls`
Secret (PKCS#1 PEM key, PEM certificate) labelled `sealedsecrets.bitnami.com/sealed-secrets-key:
active` in the controller's namespace (`initKeyRegistry`, `readKey` in pkg/controller).
"""

from __future__ import annotations

import base64
import datetime
import os
import struct
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
_NONCE = bytes(12)


def _oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


def label(namespace: str, name: str) -> bytes:
    """The strict scope's label: the SealedSecret's namespace and name."""
    return f"{namespace}/{name}".encode()


def seal(public: rsa.RSAPublicKey, namespace: str, name: str, value: bytes) -> str:
    session = os.urandom(32)
    wrapped = public.encrypt(session, _oaep(label(namespace, name)))
    sealed = struct.pack(">H", len(wrapped)) + wrapped + AESGCM(session).encrypt(_NONCE, value, None)
    return base64.b64encode(sealed).decode()


def unseal(private: rsa.RSAPrivateKey, namespace: str, name: str, sealed: str) -> bytes:
    """The controller's HybridDecrypt, for the round-trip test only."""
    raw = base64.b64decode(sealed)
    (size,) = struct.unpack(">H", raw[:2])
    if len(raw) < 2 + size:
        raise ValueError("sealed value too short")
    session = private.decrypt(raw[2 : 2 + size], _oaep(label(namespace, name)))
    return AESGCM(session).decrypt(_NONCE, raw[2 + size :], None)


def new_key(bits: int = 4096) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_secret(private: rsa.RSAPrivateKey, name: str = "sealed-secrets-key-bench") -> dict[str, Any]:
    """The Secret the controller finds on start (so it generates no key of its own)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    pem_key = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pem_cert = cert.public_bytes(serialization.Encoding.PEM)
    return {
        "metadata": {"name": name, "labels": {KEY_LABEL: "active"}},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.key": base64.b64encode(pem_key).decode(),
            "tls.crt": base64.b64encode(pem_cert).decode(),
        },
    }


def sealed_secret(
    public: rsa.RSAPublicKey, namespace: str, name: str, values: dict[str, bytes]
) -> dict[str, Any]:
    """A strict-scope SealedSecret whose template is `type: Opaque` (untyped costs an extra update)."""
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "encryptedData": {k: seal(public, namespace, name, v) for k, v in values.items()},
            "template": {"type": "Opaque", "metadata": {"name": name, "namespace": namespace}},
        },
    }
