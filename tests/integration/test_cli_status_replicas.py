"""`ironflow status` lists the replicas of a sharded operator from the member Leases the real API
server stores: only this release's, live or expired by their renewTime, with their share, view
and the leader. The Leases are written here in the format the replicas write, so the test needs
no operator running and pins the format the CLI reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cli_support import Cli
from kubernetes import client

pytest_plugins = ["cli_fixtures"]

LEASE = "ironflow-operator"


def _lease(api: client.ApiClient, namespace: str, name: str, holder: str, renewed_ago: float,
           labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> None:
    renewed = datetime.now(UTC) - timedelta(seconds=renewed_ago)
    client.CoordinationV1Api(api).create_namespaced_lease(namespace, client.V1Lease(
        metadata=client.V1ObjectMeta(name=name, labels=labels, annotations=annotations),
        spec=client.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=15,
                                acquire_time=renewed, renew_time=renewed),
    ))


def _member(api: client.ApiClient, namespace: str, replica: str, renewed_ago: float, view: str,
            namespaces: int, resources: int, member_of: str = LEASE) -> None:
    _lease(api, namespace, f"{member_of}-member-{replica}", replica, renewed_ago,
           labels={"app.kubernetes.io/managed-by": "ironflow-operator", "ironflow.dev/member-of": member_of},
           annotations={"ironflow.dev/view": view, "ironflow.dev/share-namespaces": str(namespaces),
                        "ironflow.dev/share-resources": str(resources),
                        "ironflow.io/holder-pod": f"{namespace}/{replica}", "ironflow.io/holder-pod-uid": "u",
                        "ironflow.io/holder-release": LEASE})


def test_given_member_leases_when_status_then_replicas_with_share_age_view_and_leader(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    _lease(k8s_api, namespace, LEASE, "replica-a", 1)
    _member(k8s_api, namespace, "replica-a", 1, "replica-a,replica-b", 6, 80)
    _member(k8s_api, namespace, "replica-b", 2, "replica-a,replica-b", 4, 50)
    _member(k8s_api, namespace, "replica-c", 600, "replica-a,replica-b,replica-c", 3, 30)
    _member(k8s_api, namespace, "other-x", 1, "other-x", 9, 90, member_of="another-release")
    _lease(k8s_api, namespace, "stray", "stray", 1, labels={"ironflow.dev/member-of": LEASE})  # not ours

    run = cli("status", "--env", namespace, "--operator-namespace", namespace, "-o", "json")
    assert "Traceback" not in run.stderr, run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)
    section = doc["replicas"]
    assert (section["state"], section["leaseName"]) == ("listed", LEASE)
    rows = {r["replica"]: r for r in section["members"]}
    assert sorted(rows) == ["replica-a", "replica-b", "replica-c"]  # not another release's, nor the stray
    assert [(r["state"], r["leader"]) for r in section["members"]] == [
        ("live", True), ("live", False), ("expired", False)]
    assert (rows["replica-a"]["namespaces"], rows["replica-a"]["resources"]) == (6, 80)
    assert rows["replica-a"]["pod"] == f"{namespace}/replica-a"
    assert rows["replica-b"]["view"] == ["replica-a", "replica-b"] and rows["replica-b"]["viewAgrees"]
    assert rows["replica-c"]["ageSeconds"] > 500 and not rows["replica-c"]["viewAgrees"]
    assert doc["operator"]["state"] == "alive" and "replica-a leads" in doc["operator"]["detail"]

    text = cli("status", "--env", namespace, "--operator-namespace", namespace).stdout
    assert "replicas: 2 live of 3, sharing 10 namespace(s) and 130 resource(s)" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("replica-")}
    assert "(leader)" in lines["replica-a"] and "all 2 live" in lines["replica-a"]
    cells = lines["replica-c"].split()
    assert cells[1:4] == ["expired", cells[2], "ago"] and cells[2].startswith("10m"), cells
    assert "POD" not in text  # each replica is named after its pod, as in the chart


def test_given_no_member_leases_when_status_then_sharding_off_is_said(cli: Cli, namespace: str) -> None:
    text = cli("status", "--env", namespace, "--operator-namespace", namespace).stdout
    assert "replicas: no member Leases (sharding off)" in text
    run = cli("status", "--env", namespace, "--operator-namespace", namespace, "-o", "json")
    doc = json.loads(run.stdout)
    assert doc["replicas"] == {"state": "listed", "leaseName": LEASE, "members": [], "note": None}


def test_given_custom_lease_name_when_status_then_that_release_members_are_listed(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    _member(k8s_api, namespace, "replica-a", 1, "replica-a", 1, 1)
    _member(k8s_api, namespace, "other-x", 1, "other-x", 9, 90, member_of="another-release")
    run = cli("status", "--env", namespace, "--operator-namespace", namespace, "--lease-name",
              "another-release", "-o", "json")
    assert [r["replica"] for r in json.loads(run.stdout)["replicas"]["members"]] == ["other-x"]
