"""Workloads opted in with ironflow.io/rollout-on roll when any value of the named resources changes."""

from __future__ import annotations

import json
from typing import Any

from helpers_ironflow_env import view
from test_rollout import apply, workload

from ironflow.core.rollout import (
    OBSERVED_VERSIONS_ANNOTATION,
    ROLLOUT_ON_ANNOTATION,
    describe,
    plan,
    rollout_on,
    tracks,
)

ON_APP = {ROLLOUT_ON_ANNOTATION: "app"}


def opted_in(value: str = "app", template: dict[str, str] | None = None) -> dict[str, Any]:
    return workload(template or {}, {ROLLOUT_ON_ANNOTATION: value})


def settled(w: dict[str, Any], v: Any) -> dict[str, Any]:
    found = plan(w, v)
    return apply(w, found.patch if found else None)


def test_given_annotation_when_parsed_then_valid_resource_names_kept_sorted_and_deduplicated() -> None:
    assert rollout_on(opted_in(" other, app ,app,,Not_Valid")) == ("app", "other")
    assert rollout_on(workload({})) == ()
    assert tracks(opted_in()) and not tracks(workload({}))
    assert not tracks(workload({}, {**ON_APP, "ironflow.io/rollout": "false"}))


def test_given_new_opted_in_workload_when_first_seen_then_baseline_recorded_without_roll() -> None:
    found = plan(opted_in(), view(secrets={"app": {"DB": "v1"}}))
    assert found is not None and not found.rolls
    recorded = json.loads(found.patch["metadata"]["annotations"][OBSERVED_VERSIONS_ANNOTATION])
    assert set(recorded) == {"IronflowSecret/app", "IronflowConfig/app"}
    assert recorded["IronflowConfig/app"] == "-"


def test_given_any_value_of_named_secret_changes_when_reconciled_then_rolls_naming_the_resource() -> None:
    w = settled(opted_in(), view(secrets={"app": {"DB": "v1", "API": "v1"}}))
    found = plan(w, view(secrets={"app": {"DB": "v1", "API": "v2"}}))
    assert found is not None and found.rolls and found.changed == ("IronflowSecret/app",)
    assert describe(found.changed) == "IronflowSecret app"


def test_given_config_of_that_name_changes_when_reconciled_then_rolls() -> None:
    w = settled(opted_in(), view(secrets={"app": {"DB": "v1"}}, configs={"app": {"T": "c1"}}))
    found = plan(w, view(secrets={"app": {"DB": "v1"}}, configs={"app": {"T": "c2"}}))
    assert found is not None and found.changed == ("IronflowConfig/app",)


def test_given_nothing_changed_or_other_resource_changed_when_reconciled_then_nothing_written() -> None:
    w = settled(opted_in(), view(secrets={"app": {"DB": "v1"}, "other": {"X": "v1"}}))
    assert plan(w, view(secrets={"app": {"DB": "v1"}, "other": {"X": "v1"}})) is None
    assert plan(w, view(secrets={"app": {"DB": "v1"}, "other": {"X": "v2"}})) is None


def test_given_name_not_versioned_yet_when_reconciled_then_baseline_kept() -> None:
    w = settled(opted_in(), view(secrets={"app": {"DB": "v1"}}))
    assert plan(w, view(secrets={"app": {"DB": "v1", "NEW": None}})) is None


def test_given_declaring_and_opted_in_when_declared_name_changes_then_both_listed() -> None:
    w = settled(opted_in(template={"ironflow.io/secrets": "DB"}), view(secrets={"app": {"DB": "v1"}}))
    found = plan(w, view(secrets={"app": {"DB": "v2"}}))
    assert found is not None and found.changed == ("IronflowSecret/app", "secret/DB")
    assert describe(found.changed) == "IronflowSecret app, secret DB"
