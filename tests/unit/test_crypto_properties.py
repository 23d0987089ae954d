"""Property tests: round trip for any value and target, and no alteration ever unseals."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironflow.core.crypto import (
    SEALED_PATTERN,
    AuthenticationFailed,
    MalformedSealedValue,
    UnsealError,
    WrongKey,
    seal,
    unseal,
)
from ironflow.core.keyring import Keyring
from ironflow.core.names import (
    MAX_NAME_LENGTH,
    MAX_NAMESPACE_LENGTH,
    NAME_PATTERN,
    NAMESPACE_PATTERN,
    is_valid_name,
)

CURRENT = bytes(range(32))
OLDER = bytes(range(100, 132))
OTHER = bytes(range(200, 232))
KEYRING = Keyring.from_master_keys(CURRENT)
assert KEYRING.current is not None
PUBLIC = KEYRING.current.public

names = st.from_regex(NAME_PATTERN, fullmatch=True).filter(is_valid_name)
namespaces = st.from_regex(NAMESPACE_PATTERN, fullmatch=True).filter(lambda n: len(n) <= MAX_NAMESPACE_LENGTH)
values = st.binary(max_size=2048)


def body_of(sealed: str) -> bytes:
    body = sealed.rsplit(":", 1)[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def with_body(sealed: str, raw: bytes) -> str:
    head = sealed.rsplit(":", 1)[0]
    return f"{head}:{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}"


@given(namespace=namespaces, name=names, plaintext=values)
def test_given_any_value_and_target_when_sealed_then_unseals_to_same_bytes(
    namespace: str, name: str, plaintext: bytes
) -> None:
    sealed = seal(PUBLIC, namespace, name, plaintext)
    assert re.fullmatch(SEALED_PATTERN[1:-1], sealed)
    assert unseal(KEYRING, namespace, name, sealed, allow_dev=False) == plaintext


@given(plaintext=values)
def test_given_same_value_sealed_twice_when_compared_then_strings_differ(plaintext: bytes) -> None:
    assert seal(PUBLIC, "prod", "A", plaintext) != seal(PUBLIC, "prod", "A", plaintext)


@settings(max_examples=300)
@given(plaintext=st.binary(max_size=64), data=st.data())
def test_given_any_single_changed_body_byte_when_unsealed_then_refused(
    plaintext: bytes, data: st.DataObject
) -> None:
    sealed = seal(PUBLIC, "prod", "DB_PASSWORD", plaintext)
    raw = bytearray(body_of(sealed))
    index = data.draw(st.integers(0, len(raw) - 1), label="index")
    raw[index] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises((AuthenticationFailed, MalformedSealedValue)):
        unseal(KEYRING, "prod", "DB_PASSWORD", with_body(sealed, bytes(raw)), allow_dev=False)


@settings(max_examples=300)
@given(plaintext=st.binary(max_size=64), data=st.data())
def test_given_any_single_changed_character_when_unsealed_then_never_succeeds(
    plaintext: bytes, data: st.DataObject
) -> None:
    sealed = seal(PUBLIC, "prod", "DB_PASSWORD", plaintext)
    index = data.draw(st.integers(0, len(sealed) - 1), label="index")
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != sealed[index]), label="char")
    changed = sealed[:index] + replacement + sealed[index + 1 :]
    with pytest.raises(UnsealError):
        unseal(KEYRING, "prod", "DB_PASSWORD", changed, allow_dev=False)


@given(namespace=namespaces, other=namespaces, name=names)
def test_given_value_copied_to_another_namespace_when_unsealed_then_authentication_failed(
    namespace: str, other: str, name: str
) -> None:
    if other == namespace:
        other = namespace[:-1] + ("a" if namespace[-1] != "a" else "b")
    sealed = seal(PUBLIC, namespace, name, b"s3cret")
    with pytest.raises(AuthenticationFailed):
        unseal(KEYRING, other, name, sealed, allow_dev=False)


@given(name=names, other=names)
def test_given_value_moved_to_another_name_when_unsealed_then_authentication_failed(
    name: str, other: str
) -> None:
    if other == name:
        other = name + "_" if len(name) < MAX_NAME_LENGTH else name[:-1]
    sealed = seal(PUBLIC, "prod", name, b"s3cret")
    with pytest.raises(AuthenticationFailed):
        unseal(KEYRING, "prod", other, sealed, allow_dev=False)


@given(plaintext=values)
def test_given_value_sealed_for_another_key_when_unsealed_then_wrong_key_names_kids(plaintext: bytes) -> None:
    foreign = Keyring.from_master_keys(OTHER)
    assert foreign.current is not None
    sealed = seal(foreign.current.public, "prod", "A", plaintext)
    with pytest.raises(WrongKey) as caught:
        unseal(KEYRING, "prod", "A", sealed, allow_dev=False)
    assert caught.value.kid == foreign.current.kid
    assert caught.value.known_kids == KEYRING.kids
    assert foreign.current.kid in str(caught.value)
    assert all(kid in str(caught.value) for kid in KEYRING.kids)


@given(plaintext=values)
def test_given_value_sealed_before_rotation_when_unsealed_with_previous_keys_then_plaintext(
    plaintext: bytes,
) -> None:
    before = Keyring.from_master_keys(OLDER)
    after = Keyring.from_master_keys(CURRENT, [OLDER])
    assert before.current is not None and after.current is not None
    old_sealed = seal(before.current.public, "prod", "A", plaintext)
    new_sealed = seal(after.current.public, "prod", "A", plaintext)
    assert unseal(after, "prod", "A", old_sealed, allow_dev=False) == plaintext
    assert unseal(after, "prod", "A", new_sealed, allow_dev=False) == plaintext
    with pytest.raises(WrongKey):
        unseal(KEYRING, "prod", "A", old_sealed, allow_dev=False)
