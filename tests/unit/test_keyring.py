"""Master-key Secret data -> Keyring: dev mode, keyed, malformed (never dev), previous keys."""

from __future__ import annotations

import base64
import re

import pytest

from ironflow.core.keyring import (
    MASTER_KEY_FIELD,
    PREVIOUS_KEYS_FIELD,
    Keyring,
    MalformedMasterKey,
    generate_master_key,
    parse_keyring,
)
from ironflow.core.sealing_key import derive_sealing_key

KEY_A = "a1" * 32
KEY_B = "b2" * 32
KEY_C = "c3" * 32


def kid_of(hex_key: str) -> str:
    return derive_sealing_key(bytes.fromhex(hex_key)).kid


@pytest.mark.parametrize(
    "data",
    [None, {}, {MASTER_KEY_FIELD: ""}, {MASTER_KEY_FIELD: b""}, {MASTER_KEY_FIELD: " \n"}, {"other": "x"}],
)
def test_given_no_master_key_when_parsed_then_dev_mode(data: dict[str, str | bytes] | None) -> None:
    keyring = parse_keyring(data)
    assert keyring.dev_mode
    assert keyring.current is None
    assert keyring.all == ()
    assert keyring.kids == ()
    assert keyring.find("0" * 16) is None


@pytest.mark.parametrize(
    "value",
    [KEY_A, KEY_A + "\n", f"  {KEY_A}\r\n", KEY_A.encode(), (KEY_A + "\n").encode(), KEY_A.upper()],
)
def test_given_hex_key_as_openssl_writes_it_when_parsed_then_keyed(value: str | bytes) -> None:
    keyring = parse_keyring({MASTER_KEY_FIELD: value})
    assert not keyring.dev_mode
    assert keyring.current is not None
    assert keyring.current.kid == kid_of(KEY_A)
    assert keyring.kids == (kid_of(KEY_A),)
    assert keyring.find(kid_of(KEY_A)) is keyring.current


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (KEY_A[:-1], "is 63 characters long; expected 64 hex characters"),
        (KEY_A + "0", "is 65 characters long"),
        ("0x" + KEY_A[:-2], "characters other than hex digits"),
        (KEY_A[:-1] + "g", "characters other than hex digits"),
        (KEY_A[:32] + " " + KEY_A[33:], "characters other than hex digits"),
        ("\u00e9" * 64, "characters other than hex digits"),
        (b"\xff" * 64, "is not ASCII text"),
        ("hunter2", "is 7 characters long"),
    ],
)
def test_given_malformed_key_when_parsed_then_refused_without_echo(value: str | bytes, fragment: str) -> None:
    with pytest.raises(MalformedMasterKey) as caught:
        parse_keyring({MASTER_KEY_FIELD: value})
    message = str(caught.value)
    assert fragment in message
    assert MASTER_KEY_FIELD in message
    assert caught.value.reason == "MalformedMasterKey"
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    for secret_part in {text, text.strip(), text[:16], text[-16:]}:
        assert secret_part not in message
        assert secret_part not in repr(caught.value)


def test_given_previous_keys_when_parsed_then_current_first_and_all_findable() -> None:
    keyring = parse_keyring({MASTER_KEY_FIELD: KEY_A, PREVIOUS_KEYS_FIELD: f"{KEY_B},{KEY_C}"})
    assert keyring.kids == (kid_of(KEY_A), kid_of(KEY_B), kid_of(KEY_C))
    assert keyring.current is not None and keyring.current.kid == kid_of(KEY_A)
    found = keyring.find(kid_of(KEY_C))
    assert found is not None and found.kid == kid_of(KEY_C)


def test_given_spaces_newlines_and_trailing_comma_when_previous_parsed_then_tolerated() -> None:
    keyring = parse_keyring({MASTER_KEY_FIELD: KEY_A, PREVIOUS_KEYS_FIELD: f" {KEY_B} ,\n{KEY_C},\n"})
    assert keyring.kids == (kid_of(KEY_A), kid_of(KEY_B), kid_of(KEY_C))


def test_given_duplicate_keys_when_parsed_then_each_kid_once() -> None:
    keyring = parse_keyring({MASTER_KEY_FIELD: KEY_A, PREVIOUS_KEYS_FIELD: f"{KEY_A},{KEY_B},{KEY_B}"})
    assert keyring.kids == (kid_of(KEY_A), kid_of(KEY_B))


def test_given_empty_previous_keys_when_parsed_then_only_current() -> None:
    keyring = parse_keyring({MASTER_KEY_FIELD: KEY_A, PREVIOUS_KEYS_FIELD: b"\n"})
    assert keyring.kids == (kid_of(KEY_A),)


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (base64.b64encode(KEY_A.encode()).decode(), "base64-encoded one time too many"),
        (base64.b64encode((KEY_A + "\n").encode()).decode(), "base64-encoded one time too many"),
        ("k" * 32, "raw key bytes"),
        (bytes(range(200, 232)), "raw key bytes"),
    ],
)
def test_given_common_mistake_when_parsed_then_message_names_it_without_echo(
    value: str | bytes, hint: str
) -> None:
    with pytest.raises(MalformedMasterKey) as caught:
        parse_keyring({MASTER_KEY_FIELD: value})
    assert hint in str(caught.value)
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    assert text not in str(caught.value) and KEY_A not in str(caught.value)


def test_given_one_bad_previous_key_when_parsed_then_refused_naming_its_position() -> None:
    bad = KEY_C[:-2]
    with pytest.raises(MalformedMasterKey) as caught:
        parse_keyring({MASTER_KEY_FIELD: KEY_A, PREVIOUS_KEYS_FIELD: f"{KEY_B},{bad}"})
    message = str(caught.value)
    assert f"{PREVIOUS_KEYS_FIELD} entry 2 of 2" in message
    assert "62 characters long" in message
    for secret in (bad, KEY_A, KEY_B, bad[:16]):
        assert secret not in message


def test_given_previous_keys_without_current_when_parsed_then_malformed_not_dev_mode() -> None:
    expected = f"{PREVIOUS_KEYS_FIELD} is set but {MASTER_KEY_FIELD} is empty"
    with pytest.raises(MalformedMasterKey, match=expected):
        parse_keyring({MASTER_KEY_FIELD: "", PREVIOUS_KEYS_FIELD: KEY_B})
    with pytest.raises(MalformedMasterKey):
        parse_keyring({PREVIOUS_KEYS_FIELD: KEY_B})


def test_given_keyring_when_repr_then_no_key_material() -> None:
    keyring = parse_keyring({MASTER_KEY_FIELD: KEY_A, PREVIOUS_KEYS_FIELD: KEY_B})
    assert keyring.current is not None
    text = repr(keyring) + str(keyring) + repr(keyring.all)
    assert KEY_A not in text and KEY_B not in text
    assert keyring.current.kid in text
    # The derived private key is never shown either.
    seed = keyring.current.private.private_bytes_raw().hex()
    assert seed not in text
    assert repr(Keyring.development()) == "Keyring(dev_mode=True)"


def test_given_keygen_when_called_then_64_hex_that_parses_and_differs_each_time() -> None:
    first, second = generate_master_key(), generate_master_key()
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first != second
    assert not parse_keyring({MASTER_KEY_FIELD: first}).dev_mode


def test_given_wrong_length_bytes_when_from_master_keys_then_value_error_without_key() -> None:
    with pytest.raises(ValueError, match="must be 32 bytes, got 31") as caught:
        Keyring.from_master_keys(b"\x07" * 31)
    assert "\\x07" not in str(caught.value)
