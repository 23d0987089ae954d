"""Decoding that no body can crash, and the config value rule the CLI, operator and CRD policy share."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironflow.core import bounded_json
from ironflow.core.config_values import MAX_SAFE_INTEGER, MAX_VALUE_DEPTH, value_problem

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


def nested(levels: int, leaf: str = "1") -> str:
    half = levels // 2
    return '{"a":' * half + "[" * (levels - half) + leaf + "]" * (levels - half) + "}" * half


@settings(max_examples=200)
@given(JSON)
def test_given_any_shallow_json_when_decoded_then_same_as_json(value: Any) -> None:
    text = json.dumps(value)
    assert bounded_json.loads(text) == json.loads(text)
    assert bounded_json.loads(text.encode()) == json.loads(text)


@settings(max_examples=200)
@given(JSON, st.integers(min_value=1, max_value=6))
def test_given_any_json_when_parsed_iteratively_then_same_as_truncated_json(value: Any, bound: int) -> None:
    text = json.dumps(value)
    assert bounded_json._parse_iteratively(text, bound) == bounded_json.truncated(json.loads(text), bound)


@settings(max_examples=200)
@given(JSON, st.integers(min_value=1, max_value=6))
def test_given_any_json_and_bound_when_decoded_then_same_as_the_full_walk(value: Any, bound: int) -> None:
    """The bracket count that lets `loads` skip its depth walk never skips a cut it had to make."""
    text = json.dumps(value)
    assert bounded_json.loads(text, bound) == bounded_json.truncated(json.loads(text), bound)


@pytest.mark.parametrize("levels", [bounded_json.MAX_DECODE_DEPTH, bounded_json.MAX_DECODE_DEPTH + 1])
def test_given_document_at_the_bound_when_decoded_then_cut_only_past_it(levels: int) -> None:
    decoded = bounded_json.loads(nested(levels))
    assert bounded_json.depth(decoded) == bounded_json.MAX_DECODE_DEPTH
    assert ("nested too deep" in json.dumps(decoded)) == (levels > bounded_json.MAX_DECODE_DEPTH)


@pytest.mark.parametrize("levels", [999, 1000, 5000, 10000])
def test_given_document_nested_deeper_than_python_recursion_when_decoded_then_cut_off_not_raised(
        levels: int) -> None:
    body = '{"metadata":{"name":"deep"},"spec":{"values":{"DEEP":' + nested(levels) + ',"OK":1}}}'
    decoded = bounded_json.loads(body)
    assert decoded["metadata"] == {"name": "deep"} and decoded["spec"]["values"]["OK"] == 1
    assert bounded_json.depth(decoded) == bounded_json.MAX_DECODE_DEPTH
    assert value_problem(decoded["spec"]["values"]["DEEP"]) == "the value is nested deeper than 32 levels"


def test_given_document_deeper_than_bound_but_decodable_when_decoded_then_cut_off_too() -> None:
    decoded = bounded_json.loads(nested(500))
    assert bounded_json.depth(decoded) == bounded_json.MAX_DECODE_DEPTH
    assert "nested too deep" in json.dumps(decoded)


@pytest.mark.parametrize("text", ["", "[1", "1]", "{1:2}", "NaN", "[1] x", "[" * 2000 + "]" * 1999, '"\\x"'])
def test_given_invalid_json_when_decoded_then_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        bounded_json.loads(text)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "null"),
        (2**64, "2^53"),
        (-(2**53), "2^53"),
        (1e300, "2^53"),
        (float("inf"), "too large"),
        (float("nan"), "NaN"),
        ({"a": [2**60]}, "2^53"),
        (json.loads("[" * (MAX_VALUE_DEPTH + 1) + "]" * (MAX_VALUE_DEPTH + 1)), "deeper than 32"),
        ("\ud800", "Unicode"),
        ({"\udfff": 1}, "Unicode"),
        ({1, 2}, "not a JSON value"),
    ],
)
def test_given_value_outside_the_rule_when_checked_then_problem_named(value: Any, problem: str) -> None:
    found = value_problem(value)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "value",
    [0, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 1.5, "", "text", True, [], {}, {"a": None}, [None],
     json.loads("[" * MAX_VALUE_DEPTH + "]" * MAX_VALUE_DEPTH)],
)
def test_given_value_within_the_rule_when_checked_then_accepted(value: Any) -> None:
    assert value_problem(value) is None
