"""The sealed string format ``ifs:v1:<kid>:<body>`` and the dev form ``dev:<plaintext>``.

Parsing is strict (one canonical spelling per value) so that no two different strings unseal to
the same result and the CRD's regex, this parser and docs/crypto.md agree on what is well formed.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass, field
from typing import Final

from ironflow.core.crypto_errors import MalformedSealedValue, UnknownFormatVersion

PREFIX: Final = "ifs"
FORMAT_VERSION: Final = 1
DEV_PREFIX: Final = "dev:"
AAD_LABEL: Final = b"ironflow/v1"

EPHEMERAL_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
# Env vars stay well under Linux's 128 KiB per-string limit and a CR can hold many values under the
# API server's ~1.5 MiB object limit. Reasoning in docs/crypto.md.
MAX_PLAINTEXT_BYTES: Final = 16 * 1024
MIN_BODY_BYTES: Final = EPHEMERAL_BYTES + NONCE_BYTES + TAG_BYTES
MAX_BODY_BYTES: Final = MIN_BODY_BYTES + MAX_PLAINTEXT_BYTES

SEALED_PATTERN: Final = r"^ifs:v[0-9]+:[0-9a-f]{16}:[A-Za-z0-9_-]{80,}$"
_MAX_BODY_CHARS: Final = (MAX_BODY_BYTES * 4 + 2) // 3
# The longest string seal() can produce: a CRD maxLength that matches the plaintext limit.
MAX_SEALED_CHARS: Final = len(f"{PREFIX}:v{FORMAT_VERSION}:") + 16 + 1 + _MAX_BODY_CHARS

_HEAD_RE: Final = re.compile(r"ifs:v([0-9]+):")
_KID_RE: Final = re.compile(r"[0-9a-f]{16}")
_BODY_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
_EXPECTED: Final = "expected ifs:v1:<key id>:<body>, or dev:<value> in development mode"


@dataclass(frozen=True)
class SealedValue:
    version: int
    kid: str
    ephemeral_public: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode_canonical(text: str) -> bytes | None:
    """None unless ``text`` is the one unpadded base64url spelling of some bytes."""
    if _BODY_RE.fullmatch(text) is None or len(text) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the checks above
        return None
    # Non-zero padding bits decode too; re-encoding rejects such second spellings.
    return raw if b64url_encode(raw) == text else None


def is_dev_form(value: str) -> bool:
    return value.startswith(DEV_PREFIX)


def dev_value(plaintext: str | bytes) -> str:
    if isinstance(plaintext, bytes):
        try:
            plaintext = plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("dev-form values must be UTF-8 text") from None
    return DEV_PREFIX + plaintext


def parse_sealed(value: str) -> SealedValue:
    if not isinstance(value, str):
        raise MalformedSealedValue(f"sealed value must be a string, not {type(value).__name__}")
    head = _HEAD_RE.match(value)
    if head is None:
        raise MalformedSealedValue(f"not a sealed value ({_EXPECTED})")
    digits = head.group(1)
    if (len(digits) > 1 and digits.startswith("0")) or len(digits) > 9:
        raise MalformedSealedValue(f"sealed value has a malformed format version ({_EXPECTED})")
    version = int(digits)
    if version != FORMAT_VERSION:
        raise UnknownFormatVersion(version, FORMAT_VERSION)
    rest = value[head.end() :]
    kid, sep, body = rest.partition(":")
    if not sep or _KID_RE.fullmatch(kid) is None:
        raise MalformedSealedValue(f"sealed value has no valid key id (16 lowercase hex); {_EXPECTED}")
    if len(body) > _MAX_BODY_CHARS:
        raise MalformedSealedValue(
            f"sealed value is too long: plaintext is limited to {MAX_PLAINTEXT_BYTES} bytes"
        )
    raw = b64url_decode_canonical(body)
    if raw is None:
        raise MalformedSealedValue("sealed value body is not canonical unpadded base64url")
    if len(raw) < MIN_BODY_BYTES:
        raise MalformedSealedValue(
            f"sealed value body is {len(raw)} bytes, shorter than the minimum {MIN_BODY_BYTES}: truncated?"
        )
    return SealedValue(
        version=version,
        kid=kid,
        ephemeral_public=raw[:EPHEMERAL_BYTES],
        nonce=raw[EPHEMERAL_BYTES : EPHEMERAL_BYTES + NONCE_BYTES],
        ciphertext=raw[EPHEMERAL_BYTES + NONCE_BYTES :],
    )


def format_sealed(kid: str, ephemeral_public: bytes, nonce: bytes, ciphertext: bytes) -> str:
    return f"{PREFIX}:v{FORMAT_VERSION}:{kid}:{b64url_encode(ephemeral_public + nonce + ciphertext)}"


def associated_data(namespace: str, name: str, kid: str) -> bytes:
    """Binds the ciphertext to format version, environment, NAME and key id (lengths prevent splicing)."""
    ns = namespace.encode("utf-8")
    nm = name.encode("utf-8")
    return AAD_LABEL + struct.pack(">H", len(ns)) + ns + struct.pack(">H", len(nm)) + nm + kid.encode("ascii")
