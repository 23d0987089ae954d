"""Known-answer vectors (tests/vectors/seal-v1.json, from hack/gen-vectors.py) against the core.

The generator uses the raw primitives, not ironflow.core.crypto, so agreement here means the code
and docs/crypto.md describe the same bytes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ironflow.core.crypto import (
    ALGORITHM,
    MAX_PLAINTEXT_BYTES,
    MAX_SEALED_CHARS,
    SEAL_INFO,
    SEALED_PATTERN,
    UnsealError,
    derive_sealing_key,
    key_id,
    parse_public_key,
    parse_sealed,
    parse_sealing_key_configmap_data,
    seal,
    sealing_key_configmap_data,
    unseal,
)
from ironflow.core.keyring import Keyring
from ironflow.core.sealed_format import AAD_LABEL, associated_data
from ironflow.core.sealing_key import KEY_ID_LABEL, SEALING_KEY_INFO

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT: dict[str, Any] = json.loads((ROOT / "tests/vectors/seal-v1.json").read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]
REFUSALS: list[dict[str, Any]] = DOCUMENT["refusals"]


class Replay:
    """A rand() that hands out the recorded bytes in order; the test checks all were used."""

    def __init__(self, random_hex: str) -> None:
        self.pool = bytearray.fromhex(random_hex)

    def __call__(self, size: int) -> bytes:
        assert size <= len(self.pool), "seal() asked for more randomness than the vector recorded"
        chunk = bytes(self.pool[:size])
        del self.pool[:size]
        return chunk


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["description"] for case in cases]


def test_given_vector_file_when_loaded_then_it_covers_the_edges() -> None:
    assert len(VECTORS) >= 4
    assert any(v["plaintext_hex"] == "" for v in VECTORS)
    assert any(len(v["name"]) == 253 and len(v["namespace"]) == 63 for v in VECTORS)
    assert {r["reason"] for r in REFUSALS} >= {
        "AuthenticationFailed",
        "WrongKey",
        "UnknownFormatVersion",
        "MalformedSealedValue",
        "DevValueRefused",
        "NoMasterKey",
    }


@pytest.mark.parametrize("vector", VECTORS, ids=ids(VECTORS))
def test_given_master_key_when_derived_then_public_key_and_kid_match(vector: dict[str, Any]) -> None:
    pair = derive_sealing_key(bytes.fromhex(vector["master_key_hex"]))
    assert pair.private.private_bytes_raw().hex() == vector["sealing_private_hex"]
    assert pair.public.hex() == vector["public_key_hex"]
    assert pair.kid == vector["kid"] == key_id(pair.public)
    assert parse_public_key(vector["public_key_b64"]) == pair.public
    assert parse_sealing_key_configmap_data(sealing_key_configmap_data(pair)) == (pair.public, pair.kid)


@pytest.mark.parametrize("vector", VECTORS, ids=ids(VECTORS))
def test_given_recorded_randomness_when_sealed_then_exact_expected_string(vector: dict[str, Any]) -> None:
    rand = Replay(vector["random_hex"])
    sealed = seal(
        bytes.fromhex(vector["public_key_hex"]),
        vector["namespace"],
        vector["name"],
        bytes.fromhex(vector["plaintext_hex"]),
        rand=rand,
    )
    assert sealed == vector["sealed"]
    assert len(rand.pool) == 0
    assert re.fullmatch(SEALED_PATTERN[1:-1], sealed)


@pytest.mark.parametrize("vector", VECTORS, ids=ids(VECTORS))
def test_given_expected_string_when_unsealed_then_plaintext(vector: dict[str, Any]) -> None:
    keyring = Keyring.from_master_keys(bytes.fromhex(vector["master_key_hex"]))
    plaintext = unseal(keyring, vector["namespace"], vector["name"], vector["sealed"], allow_dev=False)
    assert plaintext.hex() == vector["plaintext_hex"]
    if "plaintext_utf8" in vector:
        assert plaintext.decode("utf-8") == vector["plaintext_utf8"]


@pytest.mark.parametrize("vector", VECTORS, ids=ids(VECTORS))
def test_given_vector_when_parsed_then_fields_and_aad_match(vector: dict[str, Any]) -> None:
    parsed = parse_sealed(vector["sealed"])
    assert parsed.version == 1
    assert parsed.kid == vector["kid"]
    assert parsed.ephemeral_public.hex() == vector["ephemeral_public_hex"]
    assert parsed.nonce.hex() == vector["nonce_hex"]
    assert len(parsed.ciphertext) == len(vector["plaintext_hex"]) // 2 + 16
    assert associated_data(vector["namespace"], vector["name"], vector["kid"]).hex() == vector["aad_hex"]


@pytest.mark.parametrize("case", REFUSALS, ids=ids(REFUSALS))
def test_given_refusal_vector_when_unsealed_then_expected_reason(case: dict[str, Any]) -> None:
    master = case["master_key_hex"]
    keyring = Keyring.from_master_keys(bytes.fromhex(master)) if master else Keyring.development()
    with pytest.raises(UnsealError) as caught:
        unseal(keyring, case["namespace"], case["name"], case["sealed"], allow_dev=False)
    assert caught.value.reason == case["reason"]


def test_given_generator_when_run_with_check_then_vector_file_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "hack/gen-vectors.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_given_docs_when_read_then_they_state_the_labels_and_limits_the_code_uses() -> None:
    doc = (ROOT / "docs/crypto.md").read_text(encoding="utf-8")
    for label in (SEALING_KEY_INFO, KEY_ID_LABEL, SEAL_INFO, AAD_LABEL):
        assert f'"{label.decode()}"' in doc
    assert ALGORITHM in doc
    assert SEALED_PATTERN in doc
    assert f"{MAX_PLAINTEXT_BYTES:,}".replace(",", " ") in doc
    assert f"{MAX_SEALED_CHARS:,}".replace(",", " ") in doc
    assert VECTORS[0]["sealed"][:40] in doc
