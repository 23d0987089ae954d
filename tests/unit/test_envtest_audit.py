"""Audit-log parsing and filtering: what tests use to see exactly what reached the API server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ironflow_testbed.audit import POLICY, AuditLog, parse_lines


def _record(
    verb: str,
    resource: str,
    *,
    user: str = "admin",
    namespace: str = "ns",
    name: str = "x",
    stage: str = "ResponseComplete",
    body: dict[str, object] | None = None,
) -> str:
    return json.dumps(
        {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "stage": stage,
            "verb": verb,
            "user": {"username": user, "groups": ["system:authenticated"]},
            "objectRef": {"resource": resource, "namespace": namespace, "name": name, "apiVersion": "v1"},
            "responseStatus": {"code": 201 if verb == "create" else 200},
            "requestObject": body,
        }
    )


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    path = tmp_path / "audit.log"
    path.write_text(
        "\n".join(
            [
                _record("create", "configmaps", body={"data": {"k": "canary-123"}}),
                _record("get", "configmaps", user="system:serviceaccount:ns:op"),
                _record("create", "secrets", name="s"),
                _record("create", "configmaps", stage="ResponseStarted"),
                "",
                '{"kind": "Event", "verb": "upd',  # the server is still writing this one
            ]
        )
    )
    return AuditLog(path)


def test_given_torn_last_line_when_parsed_then_complete_records_kept() -> None:
    events = parse_lines([_record("get", "pods"), "", '{"verb": "li'])
    assert [e.verb for e in events] == ["get"]


def test_given_log_when_filtering_by_verb_and_resource_then_only_completed_matches(log: AuditLog) -> None:
    events = log.events(verb="create", resource="configmaps")
    assert len(events) == 1
    assert events[0].status_code == 201
    assert events[0].request_object == {"data": {"k": "canary-123"}}


def test_given_log_when_filtering_by_user_then_service_account_requests_found(log: AuditLog) -> None:
    events = log.events(user="system:serviceaccount:ns:op")
    assert [(e.verb, e.resource, e.namespace, e.name) for e in events] == [("get", "configmaps", "ns", "x")]


def test_given_stage_filter_disabled_when_listing_then_every_stage_returned(log: AuditLog) -> None:
    assert len(log.events(verb="create", resource="configmaps", stage=None)) == 2


def test_given_canary_when_searching_records_then_found_only_where_written(log: AuditLog) -> None:
    assert [e.resource for e in log.events(stage=None) if e.contains("canary-123")] == ["configmaps"]


def test_given_present_record_when_waiting_then_returned(log: AuditLog) -> None:
    assert log.wait_for(verb="create", resource="secrets", timeout=1).name == "s"


def test_given_absent_record_when_waiting_then_times_out(log: AuditLog) -> None:
    with pytest.raises(TimeoutError, match="no audit record"):
        log.wait_for(verb="delete", resource="secrets", timeout=0.3)


def test_given_missing_file_when_listing_then_empty(tmp_path: Path) -> None:
    assert AuditLog(tmp_path / "absent.log").events() == []


def test_given_policy_when_parsed_then_control_plane_leases_dropped_events_kept_and_rest_full() -> None:
    policy = yaml.safe_load(POLICY)
    assert policy["kind"] == "Policy"
    levels = [rule["level"] for rule in policy["rules"]]
    assert levels == ["None", "Metadata", "None", "Request", "RequestResponse"]
    assert policy["rules"][0]["resources"][0]["resources"] == ["leases"]
    assert policy["rules"][0]["namespaces"] == ["kube-system", "kube-node-lease"]
    assert policy["rules"][1]["resources"][0]["resources"] == ["leases"]
    assert "namespaces" not in policy["rules"][1]
    assert "resources" not in policy["rules"][-1], "the last rule must catch everything"


def test_given_growing_log_when_read_repeatedly_then_new_records_and_completed_lines_appear(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    path.write_text(_record("get", "pods") + "\n" + _record("create", "pods")[:20])
    log = AuditLog(path)
    assert [e.verb for e in log.events()] == ["get"]
    with path.open("a") as handle:
        handle.write(_record("create", "pods")[20:] + "\n")
    assert [e.verb for e in log.events()] == ["get", "create"]


def test_given_log_replaced_when_read_again_then_only_new_file_counts(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_text(_record("get", "pods") + "\n" + _record("list", "pods") + "\n")
    log = AuditLog(path)
    assert len(log.events()) == 2
    path.unlink()
    path.write_text(_record("delete", "pods") + "\n")
    assert [e.verb for e in log.events()] == ["delete"]


def test_given_audit_line_with_a_body_nested_5000_deep_when_parsed_then_kept_not_raised() -> None:
    deep = "[" * 5000 + "]" * 5000
    body = '{"spec": {"values": {"DEEP": ' + deep + "}}}"
    line = '{"verb": "create", "requestObject": ' + body + ', "canary": "c4n4ry"}'
    [event] = parse_lines([line, '{"torn'])
    assert event.contains("c4n4ry")
