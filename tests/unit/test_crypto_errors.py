"""Every refusal path: the right typed error, a one-line message, and never a value or key in it."""

from __future__ import annotations

import base64

import pytest

from ironflow.core.crypto import (
    MAX_PLAINTEXT_BYTES,
    MAX_SEALED_CHARS,
    AuthenticationFailed,
    DevValueRefused,
    InvalidSealingKey,
    InvalidTarget,
    MalformedSealedValue,
    NoMasterKey,
    UnknownFormatVersion,
    UnsealError,
    ValueTooLarge,
    WrongKey,
    dev_value,
    is_dev_form,
    parse_sealed,
    seal,
    unseal,
)
from ironflow.core.keyring import (
    MASTER_KEY_FIELD,
    PREVIOUS_KEYS_FIELD,
    Keyring,
    MalformedMasterKey,
    parse_keyring,
)
from ironflow.core.names import InvalidName, InvalidNamespace

CANARY = "CANARY-value-9f1c2e7d-do-not-leak"
MASTER_HEX = "5e" * 32
KEYRING = parse_keyring({MASTER_KEY_FIELD: MASTER_HEX})
assert KEYRING.current is not None
PUBLIC = KEYRING.current.public
DEV = Keyring.development()


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sealed_canary(namespace: str = "prod", name: str = "DB_PASSWORD") -> str:
    return seal(PUBLIC, namespace, name, CANARY.encode())


def refusal(
    keyring: Keyring, sealed: str, *, namespace: str = "prod", name: str = "DB_PASSWORD"
) -> UnsealError:
    with pytest.raises(UnsealError) as caught:
        unseal(keyring, namespace, name, sealed, allow_dev=keyring.dev_mode)
    return caught.value


def test_given_dev_mode_and_dev_form_when_unsealed_with_allow_dev_then_plaintext() -> None:
    assert is_dev_form(dev_value(CANARY))
    assert unseal(DEV, "prod", "A", dev_value(CANARY), allow_dev=True) == CANARY.encode()
    assert unseal(DEV, "prod", "A", dev_value("pässwörd".encode()), allow_dev=True) == "pässwörd".encode()
    assert unseal(DEV, "prod", "A", "dev:", allow_dev=True) == b""


def test_given_master_key_when_dev_form_unsealed_then_dev_value_refused() -> None:
    with pytest.raises(DevValueRefused, match="operator has a master key") as caught:
        unseal(KEYRING, "prod", "A", dev_value(CANARY), allow_dev=True)
    assert caught.value.reason == "DevValueRefused"


def test_given_dev_mode_without_allow_dev_when_dev_form_unsealed_then_refused() -> None:
    with pytest.raises(DevValueRefused, match="not accepted here"):
        unseal(DEV, "prod", "A", dev_value(CANARY), allow_dev=False)


def test_given_dev_mode_when_sealed_value_unsealed_then_no_master_key_naming_kid() -> None:
    error = refusal(DEV, sealed_canary())
    assert isinstance(error, NoMasterKey)
    assert error.reason == "NoMasterKey"
    assert KEYRING.current is not None and KEYRING.current.kid in str(error)


def test_given_oversized_dev_value_when_unsealed_then_malformed() -> None:
    with pytest.raises(MalformedSealedValue, match="longer than 16384 bytes"):
        unseal(DEV, "prod", "A", "dev:" + "x" * (MAX_PLAINTEXT_BYTES + 1), allow_dev=True)


def test_given_lone_surrogate_in_dev_value_when_unsealed_then_malformed_without_echo() -> None:
    with pytest.raises(MalformedSealedValue, match="not valid UTF-8") as caught:
        unseal(DEV, "prod", "A", "dev:\ud800" + CANARY, allow_dev=True)
    assert "ud800" not in repr(caught.value) and CANARY not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_given_non_utf8_bytes_when_dev_value_made_then_value_error() -> None:
    with pytest.raises(ValueError, match="UTF-8"):
        dev_value(b"\xff\xfe")


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda s: s.replace(":v1:", ":v2:", 1), "UnknownFormatVersion"),
        (lambda s: s.replace(":v1:", ":v0:", 1), "UnknownFormatVersion"),
        (lambda s: s.replace(":v1:", ":v01:", 1), "MalformedSealedValue"),
        (lambda s: s.replace(":v1:", ":v99999999999:", 1), "MalformedSealedValue"),
        (lambda s: s.replace("ifs:", "ifx:", 1), "MalformedSealedValue"),
        (lambda s: s + "=", "MalformedSealedValue"),
        (lambda s: s + "\n", "MalformedSealedValue"),
        (lambda s: " " + s, "MalformedSealedValue"),
        (lambda s: s[:-32], "AuthenticationFailed"),  # still long enough: cut ciphertext
        (lambda s: s[:-70], "MalformedSealedValue"),  # shorter than key + nonce + tag
        (lambda s: s[:24] + s[24:].upper(), "AuthenticationFailed"),
        (lambda s: s.rsplit(":", 1)[0], "MalformedSealedValue"),
        (lambda s: s.rsplit(":", 1)[0] + ":", "MalformedSealedValue"),
        (lambda s: s.replace(":", "::", 2), "MalformedSealedValue"),
        (lambda s: s[:7] + s[7:23].upper() + s[23:], "MalformedSealedValue"),
        (lambda s: s[:-1] + "+", "MalformedSealedValue"),
        (lambda s: CANARY, "MalformedSealedValue"),
        (lambda s: "", "MalformedSealedValue"),
    ],
)
def test_given_mangled_string_when_unsealed_then_typed_refusal(mangle: object, reason: str) -> None:
    assert callable(mangle)
    sealed = sealed_canary()
    assert len(sealed.rsplit(":", 1)[1]) % 4 == 0  # no spare bits: each case is deterministic
    error = refusal(KEYRING, mangle(sealed))
    assert error.reason == reason


def test_given_non_canonical_base64_tail_when_unsealed_then_malformed() -> None:
    sealed = seal(PUBLIC, "prod", "A", b"x" * 34)
    head, body = sealed.rsplit(":", 1)
    assert len(body) % 4 == 2  # the last character carries unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = body[:-1] + alphabet[alphabet.index(body[-1]) ^ 1]
    # Same decoded bytes, different spelling: a lax decoder would unseal it.
    assert base64.urlsafe_b64decode(twin + "==") == base64.urlsafe_b64decode(body + "==")
    assert isinstance(refusal(KEYRING, f"{head}:{twin}"), MalformedSealedValue)


def test_given_body_over_the_size_limit_when_parsed_then_malformed_before_decoding() -> None:
    head = sealed_canary().rsplit(":", 1)[0]
    with pytest.raises(MalformedSealedValue, match="too long"):
        parse_sealed(f"{head}:{'A' * 90_000}")


def test_given_low_order_ephemeral_key_when_unsealed_then_authentication_failed() -> None:
    head = sealed_canary().rsplit(":", 1)[0]
    forged = f"{head}:{b64url(bytes(32) + bytes(12) + bytes(16))}"
    assert isinstance(refusal(KEYRING, forged), AuthenticationFailed)


def test_given_non_string_when_unsealed_then_malformed() -> None:
    with pytest.raises(MalformedSealedValue, match="must be a string"):
        unseal(KEYRING, "prod", "A", CANARY.encode(), allow_dev=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("namespace", "name"), [("Prod", "A"), ("prod", "a b"), ("", "A"), ("prod", ""), ("prod", "..")]
)
def test_given_invalid_target_when_unsealed_then_invalid_target(namespace: str, name: str) -> None:
    with pytest.raises(InvalidTarget):
        unseal(KEYRING, namespace, name, sealed_canary(), allow_dev=False)


def test_given_value_at_limit_when_sealed_then_round_trips_and_one_more_byte_is_too_large() -> None:
    at_limit = b"\x00" * MAX_PLAINTEXT_BYTES
    sealed = seal(PUBLIC, "prod", "BIG", at_limit)
    assert len(sealed) == MAX_SEALED_CHARS == 21_950
    assert unseal(KEYRING, "prod", "BIG", sealed, allow_dev=False) == at_limit
    with pytest.raises(ValueTooLarge, match="16385 bytes; at most 16384") as caught:
        seal(PUBLIC, "prod", "BIG", at_limit + b"\x00")
    assert caught.value.reason == "ValueTooLarge"


def test_given_bad_target_when_sealed_then_invalid_name_or_namespace() -> None:
    with pytest.raises(InvalidNamespace):
        seal(PUBLIC, "Prod", "A", b"x")
    with pytest.raises(InvalidName):
        seal(PUBLIC, "prod", "A/B", b"x")


@pytest.mark.parametrize("public", [b"", bytes(31), bytes(33), bytes(32)])
def test_given_unusable_public_key_when_sealed_then_invalid_sealing_key(public: bytes) -> None:
    with pytest.raises(InvalidSealingKey):
        seal(public, "prod", "A", CANARY.encode())


def test_given_short_random_source_when_sealed_then_value_error() -> None:
    with pytest.raises(ValueError, match="random source returned 3 bytes, 32 requested"):
        seal(PUBLIC, "prod", "A", b"x", rand=lambda n: b"abc")


def every_refusal() -> list[BaseException]:
    """One instance of each failure, all built around the same canary value and master key."""
    sealed = sealed_canary()
    head, body = sealed.rsplit(":", 1)
    other = Keyring.from_master_keys(b"\x01" * 32)
    errors: list[BaseException] = [
        refusal(KEYRING, sealed, namespace="staging"),
        refusal(KEYRING, sealed, name="OTHER"),
        refusal(KEYRING, sealed[:-2] + ("AA" if sealed[-2:] != "AA" else "BA")),
        refusal(other, sealed),
        refusal(DEV, sealed),
        refusal(KEYRING, dev_value(CANARY)),
        refusal(KEYRING, CANARY),
        refusal(KEYRING, "ifs:v1:" + CANARY),
        refusal(KEYRING, f"{head}:{CANARY}"),
        refusal(KEYRING, sealed.replace(":v1:", ":v7:")),
        refusal(KEYRING, sealed, name="bad name"),
    ]
    with pytest.raises(DevValueRefused) as dev_refused:
        unseal(DEV, "prod", "A", dev_value(CANARY), allow_dev=False)
    errors.append(dev_refused.value)
    with pytest.raises(ValueTooLarge) as too_large:
        seal(PUBLIC, "prod", "A", CANARY.encode() * 5000)
    errors.append(too_large.value)
    for bad in (MASTER_HEX[:-1], MASTER_HEX + "z", "zz" + MASTER_HEX[2:]):
        with pytest.raises(MalformedMasterKey) as malformed:
            parse_keyring({MASTER_KEY_FIELD: bad})
        errors.append(malformed.value)
    with pytest.raises(MalformedMasterKey) as malformed_previous:
        parse_keyring({MASTER_KEY_FIELD: MASTER_HEX, PREVIOUS_KEYS_FIELD: MASTER_HEX[:-1]})
    errors.append(malformed_previous.value)
    assert body and len(errors) == 17
    return errors


def test_given_canary_value_and_key_when_every_refusal_rendered_then_neither_appears() -> None:
    body = sealed_canary().rsplit(":", 1)[1]
    secrets = [
        CANARY,
        CANARY.encode().hex(),
        MASTER_HEX,
        MASTER_HEX[:-1],
        MASTER_HEX[2:],
        body[:20],
        body[-20:],
    ]
    assert KEYRING.current is not None
    secrets.append(KEYRING.current.private.private_bytes_raw().hex())
    for error in every_refusal():
        # A traceback shows the whole chain, so every linked exception must be clean too.
        chain: list[BaseException] = [error]
        while (linked := chain[-1].__cause__ or chain[-1].__context__) is not None:
            chain.append(linked)
        rendered = [text for link in chain for text in (str(link), repr(link), str(link.args))]
        for text in rendered:
            for secret in secrets:
                assert secret not in text, f"{type(error).__name__} leaks: {text}"
        assert "\n" not in str(error)
        assert str(error).strip()
        assert getattr(error, "reason", "").isalpha()


def test_given_reasons_when_listed_then_camel_case_tokens_matching_class_names() -> None:
    for cls in (
        MalformedSealedValue,
        UnknownFormatVersion,
        WrongKey,
        AuthenticationFailed,
        DevValueRefused,
        NoMasterKey,
        InvalidTarget,
    ):
        assert issubclass(cls, UnsealError)
        assert cls.reason == cls.__name__
