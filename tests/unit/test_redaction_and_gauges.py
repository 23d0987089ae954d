"""The log safety net and the objects gauge stay exact while costing O(1) per value held."""

from __future__ import annotations

import base64

import pytest

from ironflow import metrics
from ironflow.controller import logs
from ironflow.controller.logs import REDACTED, Redactor


def test_given_many_values_when_a_line_holds_two_then_exactly_those_are_redacted() -> None:
    redactor = Redactor()
    for i in range(2000):
        redactor.remember(f"value-{i:05d}-canary".encode())

    line = "a value-00007-canary, b value-01999-canary, c value-02000-canary"

    assert redactor.redact(line) == f"a {REDACTED}, b {REDACTED}, c value-02000-canary"


def test_given_value_inside_a_longer_value_when_both_logged_then_nothing_of_either_survives() -> None:
    redactor = Redactor()
    redactor.remember(b"pass-word")
    redactor.remember(b"pass-word-long")

    redacted = redactor.redact("x=pass-word-long y=pass-word")

    assert redacted == f"x={REDACTED} y={REDACTED}"


def test_given_multibyte_value_shorter_than_the_index_when_logged_then_redacted() -> None:
    redactor = Redactor()
    redactor.remember("ÄÖ".encode())  # 4 bytes, 2 characters: below the index prefix

    assert redactor.redact("at ÄÖ and \\u00c4\\u00d6") == f"at {REDACTED} and {REDACTED}"


def test_given_value_remembered_again_when_the_memory_overflows_then_the_recent_one_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logs, "MAX_REMEMBERED", 4)  # two ASCII values: base64 and text forms
    redactor = Redactor()
    redactor.remember(b"first-value")
    redactor.remember(b"second-value")
    redactor.remember(b"first-value")  # refreshed: now the most recent

    redactor.remember(b"third-value")  # pushes out the least recently remembered: second

    assert redactor.redact("first-value") == REDACTED
    assert redactor.redact("third-value") == REDACTED
    assert redactor.redact("second-value") == "second-value"
    encoded = base64.b64encode(b"second-value").decode()
    assert redactor.redact(encoded) == encoded


def _objects() -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["kind"], s.labels["ready"], s.labels["reason"]): s.value
        for family in metrics.REGISTRY.collect()
        if family.name == "ironflow_objects"
        for s in family.samples
    }


def test_given_resources_moving_between_reasons_when_recorded_then_gauge_counts_each_once() -> None:
    kind = "GaugeTestKind"
    a, b, c = ((kind, "ns", name) for name in ("a", "b", "c"))
    counts = metrics.ObjectCounts()
    counts.record(a, "True", "Unsealed")
    counts.record(b, "True", "Unsealed")
    counts.record(c, "False", "UnsealFailed")
    counts.record(c, "False", "UnsealFailed")  # unchanged: counted once
    assert {k: v for k, v in _objects().items() if k[0] == kind} == {
        (kind, "True", "Unsealed"): 2,
        (kind, "False", "UnsealFailed"): 1,
    }

    counts.record(c, "True", "Unsealed")
    counts.record(a, None, None)
    counts.record(a, None, None)  # already gone: no effect

    assert {k: v for k, v in _objects().items() if k[0] == kind} == {(kind, "True", "Unsealed"): 2}
