"""Pure pieces behind the CLI: JSON values, the promote diff, API error classes, key modes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ironflow.cli import sealing
from ironflow.cli.configs import parse_json_value
from ironflow.cli.errors import EXIT_CLUSTER, EXIT_USER, UserError, redact, translate
from ironflow.cli.output import table
from ironflow.cli.promote import plan
from ironflow.cli.served import did_you_mean
from ironflow.cli.value_input import strip_one_newline
from ironflow.core.crypto import MAX_PLAINTEXT_BYTES, derive_sealing_key, sealing_key_configmap_data
from ironflow.k8s import sync_errors as e

PAIR = derive_sealing_key(bytes(range(32)))


@pytest.mark.parametrize(
    ("text", "value"),
    [("2500", 2500), ("true", True), ('"text"', "text"), ('{"a":[1,2.5]}', {"a": [1, 2.5]}), ("-0.5", -0.5),
     (str(2**53 - 1), 2**53 - 1), ('{"a":null}', {"a": None}),
     ("[" * 32 + "]" * 32, json.loads("[" * 32 + "]" * 32))],
)
def test_given_json_text_when_parsed_then_json_value(text: str, value: Any) -> None:
    assert parse_json_value(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", "--string"),
        ("NaN", "not JSON"),
        ("Infinity", "not JSON"),
        ("1e400", "too large"),
        ("[1e999]", "too large"),
        ("null", "config unset"),
        ("{", "not JSON"),
        (str(2**64), "2^53"),
        (f"[{-(2**53)}]", "2^53"),
        ("1e300", "2^53"),
        ("[" * 33 + "]" * 33, "deeper than 32"),
        ("[" * 5000 + "]" * 5000, "deeper than 32"),
        ('{"a":' * 900 + "1" + "}" * 900, "deeper than 32"),
    ],
)
def test_given_non_json_text_when_parsed_then_user_error_with_hint(text: str, reason: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_json_value(text)
    assert reason in caught.value.message


def test_given_source_and_target_when_planned_then_added_changed_unchanged_and_kept() -> None:
    diff = plan(
        {"NEW": True, "SAME": 1, "CHANGED": 2500, "FLAG": 1},
        {"NEW": "app", "SAME": "app", "CHANGED": "app", "FLAG": "flags"},
        {"SAME": 1, "CHANGED": 2000, "ONLY": "x", "FLAG": True},
        {"SAME": "app", "CHANGED": "legacy", "ONLY": "app", "FLAG": "app"},
    )
    assert diff["added"] == {"NEW": True}
    # True and 1 are different JSON values even though Python says they are equal.
    assert diff["changed"] == {"CHANGED": {"from": 2000, "to": 2500}, "FLAG": {"from": True, "to": 1}}
    assert diff["unchanged"] == ["SAME"]
    assert diff["onlyInTarget"] == ["ONLY"]
    # A changed name is written where the target defines it, a new one where the source does.
    assert diff["writes"] == {"app": {"NEW": True, "FLAG": 1}, "legacy": {"CHANGED": 2500}}


def status(code: int, reason: str = "", **details: str) -> bytes:
    return json.dumps(
        {"kind": "Status", "message": f"server says {code}", "reason": reason, "details": details}
    ).encode()


@pytest.mark.parametrize(
    ("code", "body", "cls"),
    [
        (401, status(401, "Unauthorized"), e.Forbidden),
        (403, status(403, "Forbidden"), e.Forbidden),
        (404, status(404, "NotFound", name="app", kind="ironflowsecrets"), e.NotFound),
        (404, status(404, "NotFound", name="dev", kind="namespaces"), e.NamespaceNotFound),
        (404, b"404 page not found", e.UnknownResourceType),
        (404, status(404, "NotFound"), e.UnknownResourceType),
        (409, status(409, "AlreadyExists", name="app"), e.AlreadyExists),
        (409, status(409, "Conflict", name="app"), e.Conflict),
        (422, status(422, "Invalid", name="app"), e.Invalid),
        (400, status(400, "BadRequest"), e.Invalid),
        (500, b"boom", e.ServerFailure),
    ],
)
def test_given_error_answer_when_classified_then_typed(code: int, body: bytes, cls: type[e.ApiError]) -> None:
    error = e.from_status(code, body, "GET /apis/ironflow.io/v1alpha1/namespaces/dev/ironflowsecrets/app")
    assert type(error) is cls


def test_given_missing_crd_when_classified_then_message_names_the_type() -> None:
    error = e.from_status(404, b"", "PATCH /apis/ironflow.io/v1alpha1/namespaces/dev/ironflowconfigs/app")
    assert "ironflowconfigs.ironflow.io" in error.message and "CRDs" in error.message


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (e.Unreachable("x"), EXIT_CLUSTER),
        (e.Forbidden("x"), EXIT_CLUSTER),
        (e.UnknownResourceType("x"), EXIT_CLUSTER),
        (e.NamespaceNotFound("dev"), EXIT_USER),
        (e.Invalid("x"), EXIT_USER),
    ],
)
def test_given_api_error_when_translated_then_exit_code(error: e.ApiError, code: int) -> None:
    translated = translate(error)
    assert translated is not None and translated.exit_code == code


def test_given_unexpected_exception_when_translated_then_left_as_a_bug() -> None:
    assert translate(KeyError("x")) is None


def test_given_message_echoing_a_value_when_redacted_then_value_gone() -> None:
    assert redact('spec.sealed.A: Invalid value: "dev:hunter2"', ["dev:hunter2"]) == (
        'spec.sealed.A: Invalid value: "<value>"'
    )


def test_given_keyed_data_without_mode_when_read_then_keyed() -> None:
    key = sealing.from_data(sealing_key_configmap_data(PAIR), "test")
    assert (key.mode, key.kid, key.public) == ("keyed", PAIR.kid, PAIR.public)
    assert key.export()["keyId"] == PAIR.kid


@pytest.mark.parametrize(("mode", "fragment"), [("invalid-key", "malformed"), ("party", "mode 'party'")])
def test_given_unusable_mode_when_read_then_refused(mode: str, fragment: str) -> None:
    with pytest.raises(UserError) as caught:
        sealing.from_data({"mode": mode}, "ConfigMap x")
    assert fragment in caught.value.message


def test_given_no_configmap_when_read_then_no_key_published_reason() -> None:
    with pytest.raises(UserError) as caught:
        sealing.from_configmap(None, "dev")
    assert caught.value.message == (
        "no sealing key published in environment dev yet: is the operator running and serving this "
        "namespace? (or pass --public-key FILE)"
    )


DEV_CM = {"data": {"mode": "dev"}}


def test_given_non_utf8_value_in_dev_mode_when_sealed_then_refused() -> None:
    key = sealing.from_configmap(DEV_CM, "dev", dev=True)
    assert sealing.seal_for(key, "dev", "A", b"ok") == "dev:ok"
    with pytest.raises(UserError):
        sealing.seal_for(key, "dev", "A", b"\xff")


def test_given_oversized_value_in_dev_mode_when_sealed_then_refused_like_a_sealed_one() -> None:
    key = sealing.from_configmap(DEV_CM, "dev", dev=True)
    with pytest.raises(UserError) as caught:
        sealing.seal_for(key, "dev", "A", b"v" * (MAX_PLAINTEXT_BYTES + 1))
    assert "at most" in caught.value.message and "vvv" not in caught.value.message


@pytest.mark.parametrize(
    ("raw", "kept"), [(b"a\n", b"a"), (b"a\n\n", b"a\n"), (b"a\r\n", b"a"), (b"a", b"a")]
)
def test_given_trailing_newlines_when_stripped_then_only_one_goes(raw: bytes, kept: bytes) -> None:
    assert strip_one_newline(raw) == kept


def test_given_rows_when_tabled_then_columns_align() -> None:
    assert table(["A", "LONG"], [["xyz", "1"], ["q", "22"]]).splitlines() == [
        "A    LONG",
        "xyz  1",
        "q    22",
    ]


def test_given_misspelt_word_when_suggested_then_closest_candidates_else_nothing() -> None:
    assert did_you_mean("MAX_RETRYS", ["MAX_RETRIES", "DB_PASSWORD"]) == "; did you mean MAX_RETRIES?"
    assert did_you_mean("prdo", ["prod", "dev", "staging"]) == "; did you mean prod?"
    assert did_you_mean("stage", ["staging", "stage-2"]) == "; did you mean stage-2 or staging?"
    assert did_you_mean("prod", ["prod"]) == ""  # the word itself is no suggestion
    assert did_you_mean("ZZZ", ["MAX_RETRIES"]) == ""
