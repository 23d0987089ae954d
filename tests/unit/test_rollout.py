"""Workloads roll when, and only when, a declared name's version changes."""

from __future__ import annotations

import json
from typing import Any

from helpers_ironflow_env import view

from ironflow.core.rollout import (
    OBSERVED_VERSIONS_ANNOTATION,
    ROLLOUT_DIGEST_ANNOTATION,
    plan_rollout,
    versions_digest,
)


def workload(
    template_annotations: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "annotations": dict(annotations or {})},
        "spec": {
            "template": {"metadata": {"annotations": dict(template_annotations)}, "spec": {"containers": []}}
        },
    }


def apply(w: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    if patch:
        w["metadata"]["annotations"].update(patch["metadata"]["annotations"])
        if "spec" in patch:
            w["spec"]["template"]["metadata"]["annotations"].update(
                patch["spec"]["template"]["metadata"]["annotations"]
            )
    return w


DECLARES_DB = {"ironflow.io/secrets": "DB_PASSWORD"}


def test_given_new_workload_when_first_seen_then_baseline_recorded_without_touching_template() -> None:
    patch = plan_rollout(workload(DECLARES_DB), view(secrets={"app": {"DB_PASSWORD": "v1"}}))
    assert patch is not None
    assert "spec" not in patch
    assert json.loads(patch["metadata"]["annotations"][OBSERVED_VERSIONS_ANNOTATION]) == {
        "secret/DB_PASSWORD": "v1"
    }


def test_given_declared_version_changed_when_reconciled_then_template_digest_changes() -> None:
    w = apply(
        workload(DECLARES_DB),
        plan_rollout(workload(DECLARES_DB), view(secrets={"app": {"DB_PASSWORD": "v1"}})),
    )
    patch = plan_rollout(w, view(secrets={"app": {"DB_PASSWORD": "v2"}}))
    assert patch is not None
    assert patch["spec"]["template"]["metadata"]["annotations"][ROLLOUT_DIGEST_ANNOTATION] == versions_digest(
        {"secret/DB_PASSWORD": "v2"}
    )
    assert "v2" not in patch["spec"]["template"]["metadata"]["annotations"][ROLLOUT_DIGEST_ANNOTATION]


def test_given_undeclared_name_changed_when_reconciled_then_nothing_written() -> None:
    w = apply(
        workload(DECLARES_DB),
        plan_rollout(workload(DECLARES_DB), view(secrets={"app": {"DB_PASSWORD": "v1", "OTHER": "o1"}})),
    )
    assert plan_rollout(w, view(secrets={"app": {"DB_PASSWORD": "v1", "OTHER": "o2"}})) is None


def test_given_workload_declaring_nothing_when_reconciled_then_untouched() -> None:
    assert plan_rollout(workload({}), view(secrets={"app": {"DB_PASSWORD": "v1"}})) is None


def test_given_opt_out_when_version_changes_then_untouched() -> None:
    w = workload(
        DECLARES_DB,
        {"ironflow.io/rollout": "false", OBSERVED_VERSIONS_ANNOTATION: '{"secret/DB_PASSWORD": "v1"}'},
    )
    assert plan_rollout(w, view(secrets={"app": {"DB_PASSWORD": "v2"}})) is None


def test_given_optional_name_appears_when_reconciled_then_rolls() -> None:
    decl = {"ironflow.io/secrets": "SLACK_WEBHOOK?"}
    w = apply(workload(decl), plan_rollout(workload(decl), view(secrets={"app": {"DB_PASSWORD": "v1"}})))
    assert json.loads(w["metadata"]["annotations"][OBSERVED_VERSIONS_ANNOTATION]) == {
        "secret/SLACK_WEBHOOK": "-"
    }
    patch = plan_rollout(w, view(secrets={"app": {"DB_PASSWORD": "v1", "SLACK_WEBHOOK": "s1"}}))
    assert patch is not None and "spec" in patch


def test_given_name_not_versioned_yet_when_reconciled_then_baseline_kept_and_no_roll() -> None:
    w = apply(
        workload(DECLARES_DB),
        plan_rollout(workload(DECLARES_DB), view(secrets={"app": {"DB_PASSWORD": "v1"}})),
    )
    assert plan_rollout(w, view(secrets={"app": {"DB_PASSWORD": None}})) is None


def test_given_newly_declared_name_when_reconciled_then_recorded_without_roll() -> None:
    env = view(secrets={"app": {"DB_PASSWORD": "v1", "OTHER": "o1"}})
    w = apply(workload(DECLARES_DB), plan_rollout(workload(DECLARES_DB), env))
    w["spec"]["template"]["metadata"]["annotations"]["ironflow.io/secrets"] = "DB_PASSWORD, OTHER"
    patch = plan_rollout(w, env)
    assert patch is not None and "spec" not in patch


def test_given_unchanged_versions_when_reconciled_again_then_nothing_written() -> None:
    env = view(secrets={"app": {"DB_PASSWORD": "v1"}}, configs={"app": {"T": "c1"}})
    decl = {"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/configs": "T"}
    w = apply(workload(decl), plan_rollout(workload(decl), env))
    assert plan_rollout(w, env) is None


def test_given_malformed_declaration_when_reconciled_then_untouched() -> None:
    assert plan_rollout(workload({"ironflow.io/secrets": "1BAD"}), view()) is None


def test_given_required_name_removed_when_reconciled_then_no_rollout_into_refused_pods() -> None:
    w = apply(
        workload(DECLARES_DB),
        plan_rollout(workload(DECLARES_DB), view(secrets={"app": {"DB_PASSWORD": "v1"}})),
    )
    assert plan_rollout(w, view(secrets={"app": {"OTHER": "o1"}})) is None
    patch = plan_rollout(w, view(secrets={"app": {"DB_PASSWORD": "v2"}}))
    assert patch is not None and "spec" in patch


def test_given_optional_name_removed_when_reconciled_then_rolls() -> None:
    decl = {"ironflow.io/secrets": "SLACK_WEBHOOK?"}
    w = apply(workload(decl), plan_rollout(workload(decl), view(secrets={"app": {"SLACK_WEBHOOK": "s1"}})))
    patch = plan_rollout(w, view(secrets={"app": {"OTHER": "o1"}}))
    assert patch is not None and "spec" in patch
