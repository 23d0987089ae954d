"""The webhook's decisions are counted and timed by outcome, and warn on annotations that do nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from typing import Any

from helpers_ironflow_env import pod, view

from ironflow import metrics
from ironflow.core import injection, rollout
from ironflow.core.declarations import KNOWN_ANNOTATIONS, Kind, unknown_annotation_warnings
from ironflow.core.environment_view import EnvironmentView
from ironflow.webhook.admission import review_declarations, review_enforcement

ENV = view(secrets={"app": {"DB_PASSWORD": "v1"}}, configs={"app": {"HTTP_TIMEOUT_MS": "v1"}})


async def _read(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
    return ENV


async def _broken(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
    raise ConnectionError("unreachable")


def _review(annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u1", "namespace": "dev", "object": pod(annotations), "operation": "CREATE"},
    }


def _count(webhook: str, outcome: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "ironflow_webhook_admissions_total", {"webhook": webhook, "outcome": outcome}
    )
    return value or 0.0


def _observed(webhook: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "ironflow_webhook_admission_duration_seconds_count", {"webhook": webhook}
    )
    return value or 0.0


def test_given_each_outcome_when_reviewed_then_counted_by_outcome_and_timed() -> None:
    before = {o: _count("declarations", o) for o in ("allowed", "refused", "error")}
    timed = _observed("declarations")
    asyncio.run(review_declarations(_review({"ironflow.io/secrets": "DB_PASSWORD"}), _read))
    asyncio.run(review_declarations(_review({"ironflow.io/secrets": "MISSING"}), _read))
    asyncio.run(review_declarations(_review({"ironflow.io/secrets": "bad name"}), _read))
    asyncio.run(review_declarations(_review({"ironflow.io/secrets": "DB_PASSWORD"}), _broken))
    assert _count("declarations", "allowed") - before["allowed"] == 1
    assert _count("declarations", "refused") - before["refused"] == 2
    assert _count("declarations", "error") - before["error"] == 1
    assert _observed("declarations") - timed == 4


def test_given_enforcement_review_when_decided_then_counted_under_its_own_webhook() -> None:
    before = _count("enforcement", "allowed")
    asyncio.run(review_enforcement(_review({}), _read))
    assert _count("enforcement", "allowed") - before == 1


def test_given_no_admission_yet_when_scraped_then_every_outcome_series_exists_at_zero_or_more() -> None:
    text = metrics.exposition().decode()
    for outcome in ("allowed", "refused", "error"):
        assert f'ironflow_webhook_admissions_total{{outcome="{outcome}",webhook="declarations"}}' in text


def test_given_mistyped_ironflow_annotation_when_reviewed_then_allowed_with_warning_naming_fix() -> None:
    out = asyncio.run(
        review_declarations(_review({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/config": "X"}), _read)
    )
    warnings = out["response"]["warnings"]
    assert out["response"]["allowed"] is True
    assert any("ironflow.io/config is not an Ironflow annotation" in w and "ironflow.io/configs?" in w
               for w in warnings), warnings


def test_given_config_declared_as_secret_when_optional_then_allowed_with_a_kind_warning() -> None:
    out = asyncio.run(review_declarations(_review({"ironflow.io/secrets": "HTTP_TIMEOUT_MS?"}), _read))
    assert out["response"]["allowed"] is True
    assert any("HTTP_TIMEOUT_MS is declared in ironflow.io/secrets" in w and "only as a config" in w
               and "declare it in ironflow.io/configs" in w for w in out["response"]["warnings"])


def test_given_secret_declared_as_config_when_required_then_the_refusal_says_which_kind_defines_it() -> None:
    out = asyncio.run(review_declarations(_review({"ironflow.io/configs": "DB_PASSWORD"}), _read))
    message = out["response"]["status"]["message"]
    assert out["response"]["allowed"] is False
    assert "does not define config DB_PASSWORD" in message
    assert "defines it only as a secret: declare it in ironflow.io/secrets" in message


def test_given_only_known_annotations_when_checked_then_no_warning() -> None:
    annotations = {key: "x" for key in KNOWN_ANNOTATIONS} | {"example.com/other": "y"}
    assert unknown_annotation_warnings(annotations) == []


def test_given_annotations_ironflow_writes_when_listed_then_all_are_known() -> None:
    written = {injection.RECORD_ANNOTATION, rollout.ROLLOUT_DIGEST_ANNOTATION,
               rollout.OBSERVED_VERSIONS_ANNOTATION, rollout.OPT_OUT_ANNOTATION}
    assert written <= KNOWN_ANNOTATIONS


def test_given_secret_value_under_mistyped_annotation_when_warned_then_value_not_in_response() -> None:
    canary = "canary-s3cr3t-pasted-into-an-annotation"
    out = asyncio.run(review_declarations(
        _review({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/secret": canary}), _read
    ))
    assert out["response"]["warnings"] and canary not in json.dumps(out)
