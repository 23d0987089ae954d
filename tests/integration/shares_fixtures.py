"""Several operator replicas with --sharding against one control plane, told apart by User-Agent.

All replicas run under the session's operator identity (one ServiceAccount, as the chart's pods
do); each has its own --replica-id, which its requests carry in the User-Agent, so the audit log
says which replica wrote what. The served namespaces are `<test namespace>-s<i>`, served by a
glob; the member Leases are read from the operator namespace.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from kubernetes import client
from operator_fixtures import Operator, apply_cr, configmap_data, sealed, secret_data
from operator_launch import OperatorProcess

from ironflow.core.shares import member_selector
from ironflow_testbed import eventually
from ironflow_testbed.audit import AuditEvent, AuditLog

WRITES = ("create", "update", "patch", "delete", "deletecollection")
_REPLICA = re.compile(r"\(replica ([^)]+)\)")
# Short timings, so that a kill is noticed within seconds: duration > deadline > retry.
TIMINGS = ("--lease-duration=6", "--lease-renew-deadline=4", "--lease-retry-period=1")
LEASE_DURATION = 6.0


@dataclass
class Shared:
    op: Operator
    api: client.ApiClient
    served: list[str]
    runs: dict[str, OperatorProcess] = field(default_factory=dict)

    def start(self, replica: str, *extra: str, wait: bool = True) -> OperatorProcess:
        run = self.op.start("--sharding", f"--replica-id={replica}", f"--leader-identity={replica}-leader",
                            *TIMINGS, *extra, wait=wait)
        self.runs[replica] = run
        return run

    def members(self) -> dict[str, dict[str, str]]:
        """Replica id -> annotations of its member Lease."""
        leases = client.CoordinationV1Api(self.api).list_namespaced_lease(
            self.op.operator_namespace, label_selector=member_selector("ironflow-operator"))
        return {str(lease.spec.holder_identity): dict(lease.metadata.annotations or {})
                for lease in leases.items}

    def wait_view(self, replicas: set[str], timeout: float = 60) -> None:
        """Every listed replica publishes a view of exactly `replicas`."""
        def agreed() -> bool:
            members = self.members()
            return set(members) >= replicas and all(
                set(members[r].get("ironflow.dev/view", "").split(",")) == replicas for r in replicas)
        eventually(agreed, timeout=timeout, what=f"the member views to agree on {sorted(replicas)}")


def replica_of(event: AuditEvent) -> str:
    found = _REPLICA.search(str(event.raw.get("userAgent", "")))
    return found.group(1) if found else str(event.raw.get("userAgent", ""))


def _time(text: object) -> datetime.datetime:
    return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def namespace_writes(audit: AuditLog, user: str, namespaces: list[str]) -> dict[str, list[AuditEvent]]:
    """Each served namespace's successful writes by the operator (Leases aside), in order received."""
    out: dict[str, list[AuditEvent]] = {ns: [] for ns in namespaces}
    for event in audit.events(user=user):
        if (event.namespace in out and event.verb in WRITES and 200 <= event.status_code < 300
                and event.resource != "leases"):
            out[event.namespace].append(event)
    for events in out.values():
        events.sort(key=lambda e: _time(e.raw["requestReceivedTimestamp"]))
    return out


def writers(events: list[AuditEvent]) -> set[str]:
    return {replica_of(e) for e in events}


def overlapping(events: list[AuditEvent]) -> list[str]:
    """Where two replicas wrote one namespace in overlapping windows: each replica's writes must
    form one run, and a run must end (last answer) before the next one's first request arrives."""
    runs: list[tuple[str, datetime.datetime, datetime.datetime]] = []
    for event in events:
        replica = replica_of(event)
        received, done = _time(event.raw["requestReceivedTimestamp"]), _time(event.raw["stageTimestamp"])
        if runs and runs[-1][0] == replica:
            runs[-1] = (replica, runs[-1][1], max(runs[-1][2], done))
        else:
            runs.append((replica, received, done))
    problems = [f"{replica} wrote again after others" for replica in {r for r, _, _ in runs}
                if sum(1 for r, _, _ in runs if r == replica) > 1]
    problems += [f"{a[0]} until {a[2]} overlaps {b[0]} from {b[1]}"
                 for a, b in itertools.pairwise(runs) if a[2] > b[1]]
    return problems


# What the tests of several replicas do to every served namespace: one resource of each kind, "app".
def create_namespaces(api: client.ApiClient, names: list[str]) -> None:
    core = client.CoreV1Api(api)
    for name in names:
        core.create_namespace({"metadata": {"name": name, "labels": {"ironflow.io/test": "true"}}})


def apply_everywhere(api: client.ApiClient, key: str, names: list[str], value: int) -> None:
    for ns in names:
        sealed_value = sealed(key, ns, "DB_PASSWORD", f"v{value}")
        apply_cr(api, "IronflowSecret", ns, "app", {"DB_PASSWORD": sealed_value})
        apply_cr(api, "IronflowConfig", ns, "app", {"LEVEL": value})


def projected(api: client.ApiClient, ns: str, value: int) -> bool:
    return (secret_data(api, ns, "app") == {"DB_PASSWORD": f"v{value}"}
            and configmap_data(api, ns, "app") == {"LEVEL": str(value)})


def start_all(shared: Shared, replicas: list[str], *extra: str) -> None:
    runs = [shared.start(replica, *extra, wait=False) for replica in replicas]
    for run in runs:
        run.wait_ready(timeout=90)
    shared.wait_view(set(replicas))



@pytest.fixture
def shared(operator: Operator, k8s_api: client.ApiClient, namespace: str) -> Iterator[Shared]:
    core = client.CoreV1Api(k8s_api)
    operator.namespaces = [f"{namespace}-s*"]
    served = [f"{namespace}-s{i}" for i in range(12)]
    group = Shared(operator, k8s_api, served)
    try:
        yield group
    finally:
        operator.stop()
        for name in served:
            try:
                core.delete_namespace(name, propagation_policy="Background")
            except client.ApiException as error:
                if error.status != 404:
                    raise
