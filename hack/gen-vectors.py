#!/usr/bin/env python3
"""Write (or --check) the known-answer vectors in tests/vectors/seal-v1.json.

Deliberately independent of ironflow.core.crypto: it follows docs/crypto.md step by step with the
raw primitives, so the unit tests compare two implementations of the document, not one with itself.
All inputs come from SHA-256 of fixed labels, so the file is reproducible byte for byte.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "seal-v1.json"
RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fixed(label: str, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"ironflow-test-vector/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sealing_pair(master: bytes) -> tuple[bytes, bytes, str]:
    seed = hkdf(master, b"", b"ironflow/v1/sealing-key")
    public = X25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*RAW)
    kid = hashlib.sha256(b"ironflow/v1/key-id" + public).digest()[:8].hex()
    return seed, public, kid


def aad(namespace: str, name: str, kid: str) -> bytes:
    ns, nm = namespace.encode(), name.encode()
    return b"ironflow/v1" + struct.pack(">H", len(ns)) + ns + struct.pack(">H", len(nm)) + nm + kid.encode()


def vector(label: str, namespace: str, name: str, plaintext: bytes) -> dict[str, Any]:
    master = fixed(f"{label}/master", 32)
    seed, public, kid = sealing_pair(master)
    random = fixed(f"{label}/random", 44)
    eph_priv, nonce = random[:32], random[32:]
    eph = X25519PrivateKey.from_private_bytes(eph_priv)
    eph_pub = eph.public_key().public_bytes(*RAW)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(public))
    key = hkdf(shared, eph_pub + public, b"ironflow/v1/seal")
    associated = aad(namespace, name, kid)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, associated)
    entry: dict[str, Any] = {
        "description": label,
        "master_key_hex": master.hex(),
        "sealing_private_hex": seed.hex(),
        "public_key_hex": public.hex(),
        "public_key_b64": base64.b64encode(public).decode(),
        "kid": kid,
        "namespace": namespace,
        "name": name,
        "plaintext_hex": plaintext.hex(),
        "random_hex": random.hex(),
        "ephemeral_private_hex": eph_priv.hex(),
        "nonce_hex": nonce.hex(),
        "ephemeral_public_hex": eph_pub.hex(),
        "shared_secret_hex": shared.hex(),
        "aes_key_hex": key.hex(),
        "aad_hex": associated.hex(),
        "sealed": f"ifs:v1:{kid}:{b64url(eph_pub + nonce + ciphertext)}",
    }
    with contextlib.suppress(UnicodeDecodeError):
        entry["plaintext_utf8"] = plaintext.decode("utf-8")
    return entry


def flip(sealed: str, body_offset: int) -> str:
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[body_offset] ^= 0x01
    return f"{head}:{b64url(bytes(raw))}"


def refusals(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    sealed, ns, name, key = first["sealed"], first["namespace"], first["name"], first["master_key_hex"]

    def case(description: str, reason: str, **over: str) -> dict[str, Any]:
        base = {"master_key_hex": key, "namespace": ns, "name": name, "sealed": sealed}
        return {"description": description, **base, **over, "reason": reason}

    return [
        case("copied into another namespace", "AuthenticationFailed", namespace="staging"),
        case("renamed to another NAME", "AuthenticationFailed", name="DB_PASSWORD_OLD"),
        case("ciphertext byte flipped", "AuthenticationFailed", sealed=flip(sealed, 50)),
        case("nonce byte flipped", "AuthenticationFailed", sealed=flip(sealed, 40)),
        case("ephemeral key byte flipped", "AuthenticationFailed", sealed=flip(sealed, 0)),
        case("sealed for another key", "WrongKey", sealed=second["sealed"]),
        case("unknown format version", "UnknownFormatVersion", sealed=sealed.replace(":v1:", ":v2:", 1)),
        case("truncated body", "MalformedSealedValue", sealed=sealed[:-40]),
        case("padded base64", "MalformedSealedValue", sealed=sealed + "="),
        case("dev form while keyed", "DevValueRefused", sealed="dev:hunter2"),
        case("sealed value in development mode", "NoMasterKey", master_key_hex=""),
    ]


def build() -> str:
    vectors = [
        vector("ascii", "prod", "DB_PASSWORD", b"correct horse battery staple"),
        vector("empty value", "dev", "EMPTY", b""),
        vector("utf-8 and binary", "team-a-staging", "_Mixed_1", "pässwörd ✓".encode() + b"\x00\xff\n"),
        vector(
            "longest namespace and name",
            "n" * 62 + "1",
            "N" * 253,
            fixed("long/plaintext", 1000),
        ),
    ]
    document = {
        "format": "ifs:v1",
        "spec": "docs/crypto.md",
        "generator": "hack/gen-vectors.py",
        "random_hex_note": "rand() output in call order: ephemeral private key (32 bytes), nonce (12)",
        "vectors": vectors,
        "refusals": refusals(vectors[0], vectors[1]),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file differs instead of writing")
    args = parser.parse_args()
    text = build()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run hack/gen-vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
