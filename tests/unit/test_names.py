"""The NAME and namespace rules: what the CRDs, sealing and the webhook all rely on."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironflow.core.names import (
    ENV_NAME_PATTERN,
    MAX_NAME_LENGTH,
    MAX_NAMESPACE_LENGTH,
    NAME_PATTERN,
    NAMESPACE_PATTERN,
    InvalidName,
    InvalidNamespace,
    is_env_name,
    is_valid_name,
    is_valid_namespace,
    validate_name,
    validate_namespace,
)

env_names = st.from_regex(ENV_NAME_PATTERN, fullmatch=True).filter(lambda n: len(n) <= MAX_NAME_LENGTH)


def test_given_contract_when_read_then_pattern_and_limit_are_the_published_ones() -> None:
    assert NAME_PATTERN == r"^[-._a-zA-Z0-9]+$"
    assert ENV_NAME_PATTERN == r"^[A-Za-z_][A-Za-z0-9_]*$"
    assert MAX_NAME_LENGTH == 253


@given(env_names)
def test_given_any_env_var_name_when_validated_then_accepted_as_name_and_env_name(name: str) -> None:
    assert is_valid_name(name)
    assert is_env_name(name)
    validate_name(name)


@given(st.text(alphabet="-._aZ09 /é\n", max_size=300))
def test_given_any_text_when_checked_then_agrees_with_api_server_key_rule(text: str) -> None:
    dot_trick = text in (".", "..") or text.startswith("..")
    expected = (
        re.fullmatch(NAME_PATTERN[1:-1], text) is not None and len(text) <= MAX_NAME_LENGTH and not dot_trick
    )
    assert is_valid_name(text) is expected


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "_", "a", "_1", "x" * MAX_NAME_LENGTH, "tls.crt", ".dockerconfigjson", "a-b", "1A", ".a"],
)
def test_given_valid_name_when_validated_then_no_error(name: str) -> None:
    validate_name(name)


@pytest.mark.parametrize(
    ("name", "env"), [("DB_PASSWORD", True), ("tls.crt", False), ("1A", False), ("a-b", False)]
)
def test_given_valid_name_when_asked_for_env_then_only_env_var_names_are(name: str, env: bool) -> None:
    assert is_env_name(name) is env


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("A B", "'A B' is not a valid Secret/ConfigMap key"),
        ("PÄSS", "'PÄSS'"),
        ("a/b", "'a/b'"),
        (".", "must not be '.' or '..'"),
        ("..", "must not be '.' or '..'"),
        ("..data", "nor start with '..'"),
        ("NAME\n", "not a valid Secret/ConfigMap key"),
        ("x" * (MAX_NAME_LENGTH + 1), "254 characters long; at most 253"),
    ],
)
def test_given_invalid_name_when_validated_then_invalid_name_says_why(name: str, fragment: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(InvalidName) as caught:
        validate_name(name)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_given_non_string_when_validated_then_invalid_name() -> None:
    assert not is_valid_name(42)
    with pytest.raises(InvalidName, match="must be a string, not int"):
        validate_name(42)


@pytest.mark.parametrize("namespace", ["prod", "a", "team-a-1", "0", "n" * MAX_NAMESPACE_LENGTH])
def test_given_dns_label_when_namespace_validated_then_accepted(namespace: str) -> None:
    assert is_valid_namespace(namespace)
    validate_namespace(namespace)


@pytest.mark.parametrize(
    ("namespace", "fragment"),
    [
        ("", "empty"),
        ("Prod", "not a DNS label"),
        ("-prod", "not a DNS label"),
        ("prod-", "not a DNS label"),
        ("a.b", "not a DNS label"),
        ("prod\n", "not a DNS label"),
        ("n" * (MAX_NAMESPACE_LENGTH + 1), "64 characters long; at most 63"),
    ],
)
def test_given_bad_namespace_when_validated_then_invalid_namespace(namespace: str, fragment: str) -> None:
    assert not is_valid_namespace(namespace)
    with pytest.raises(InvalidNamespace) as caught:
        validate_namespace(namespace)
    assert fragment in str(caught.value)


@given(st.from_regex(NAMESPACE_PATTERN, fullmatch=True))
def test_given_generated_label_when_checked_then_valid_iff_short_enough(namespace: str) -> None:
    assert is_valid_namespace(namespace) is (len(namespace) <= MAX_NAMESPACE_LENGTH)
