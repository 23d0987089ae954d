"""Two operator replicas, one Lease: exactly one writes, the other serves admissions and stands by.

Proven from the API server's audit log (each replica has its own ServiceAccount): the standby
writes nothing at all while it does not lead (its attempts on a held Lease are reads), a graceful
hand-over and a SIGKILL fail-over are both measured, a new leader's resync writes nothing over
an unchanged cluster, and no object is written twice.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from typing import Any

import pytest
from cli_support import Cli
from ha_fixtures import (
    Replicas,
    admission_review,
    without_leases,
    writes,
)
from kubernetes import client
from operator_fixtures import (
    apply_cr,
    configmap_data,
    get_cr,
    new_key,
    sealed,
    secret_data,
    wait_ready,
    wait_status,
)
from webhook_fixtures import (
    assert_fail_closed,
    deployment,
    pod_manifest,
    wait_for_default_service_account,
    wait_until_injecting,
)

from ironflow_testbed import eventually
from ironflow_testbed.audit import AuditEvent, AuditLog
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures", "webhook_fixtures", "cli_fixtures", "ha_fixtures"]
SECRET, CONFIG = "IronflowSecret", "IronflowConfig"
LEASE_DURATION, RETRY_PERIOD = 15.0, 2.0


def _environment_lists(audit: AuditLog, user: str, namespace: str) -> list[AuditEvent]:
    return [
        e
        for e in audit.events(user=user, namespace=namespace, verb="list")
        if e.resource.startswith("ironflow")
    ]


def _injected_env(response: dict[str, Any]) -> dict[str, Any]:
    """Declared name -> valueFrom, from the JSON patch an admission response carries."""
    entries: list[Any] = []
    for op in json.loads(base64.b64decode(response["patch"])):
        value = op.get("value")
        entries += value if isinstance(value, list) else [value]
    return {e["name"]: e["valueFrom"] for e in entries if isinstance(e, dict) and "valueFrom" in e}


def _status(cli: Cli, namespace: str, operator_namespace: str) -> tuple[int, dict[str, object]]:
    result = cli("status", "--env", namespace, "--operator-namespace", operator_namespace, "-o", "json")
    return result.code, json.loads(result.stdout)


def test_given_two_replicas_when_resources_change_then_only_the_leader_writes_and_the_standby_serves(
    replicas: Replicas, k8s_api: client.ApiClient, namespace: str, cluster: Cluster, cli: Cli
) -> None:
    audit = cluster.audit
    if audit is None:
        pytest.skip("attributing writes needs the audit log of the session's own control plane")
    a, b = replicas.a, replicas.b
    key = new_key()
    a.set_master_key(key)
    run_a, _ = replicas.start(a, "replica-a", webhook=True)
    replicas.wait_holder("replica-a")
    wait_for_default_service_account(k8s_api, namespace)
    wait_until_injecting(k8s_api, namespace, run_a)

    # (c) B is not ready while its cache cannot be filled (its cluster-wide list is refused) ...
    run_b, url_b = replicas.start(b, "replica-b", webhook=True, wait=False)
    eventually(
        lambda: run_b.readyz()[0] == 503 and run_b.readyz()[1].startswith("waiting for cache\n"),
        timeout=60,
        what="replica B up, key read and watches running, but its cache not synced",
    )
    assert run_b.readyz()[0] == 503
    replicas.grant_b()  # ... and ready once it is
    eventually(run_b.ready, timeout=90, what="replica B ready after its cache synced")
    assert "cache synced" in run_b.output()
    assert replicas.holder() == "replica-a"

    # the window: resources created and changed, a declaring workload rolled
    apps = client.AppsV1Api(k8s_api)
    apply_cr(
        k8s_api, SECRET, namespace, "app", {"DB_PASSWORD": sealed(key, namespace, "DB_PASSWORD", "first")}
    )
    apply_cr(k8s_api, CONFIG, namespace, "app", {"HTTP_TIMEOUT_MS": 2500})
    wait_ready(k8s_api, SECRET, namespace, "app")
    wait_ready(k8s_api, CONFIG, namespace, "app")
    apps.create_namespaced_deployment(namespace, deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"}))
    eventually(
        lambda: (
            "ironflow.io/observed-versions"
            in (apps.read_namespaced_deployment("web", namespace).metadata.annotations or {})
        ),
        timeout=60,
        what="the leader to record web's baseline",
    )
    version = get_cr(k8s_api, SECRET, namespace, "app")["status"]["names"]["DB_PASSWORD"]["version"]
    apply_cr(
        k8s_api, SECRET, namespace, "app", {"DB_PASSWORD": sealed(key, namespace, "DB_PASSWORD", "second")}
    )
    wait_status(
        k8s_api,
        SECRET,
        namespace,
        "app",
        lambda c: c["status"]["names"]["DB_PASSWORD"]["version"] != version,
        "new version",
    )
    eventually(
        lambda: (
            "ironflow.io/rollout-digest"
            in (apps.read_namespaced_deployment("web", namespace).spec.template.metadata.annotations or {})
        ),
        timeout=60,
        what="the leader to roll web",
    )
    eventually(lambda: run_a.settled(1), what="the leader idle")

    # (c) the standby answers admissions from its own cache, without listing the environment
    ca_b = b.workdir / "certs-0" / "ca.crt"
    audit.flush(k8s_api, namespace)
    listed = len(_environment_lists(audit, b.user, namespace))
    declaring = pod_manifest(
        "direct", {"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/configs": "HTTP_TIMEOUT_MS"}
    )
    admitted = admission_review(url_b, ca_b, namespace, declaring)
    assert admitted["allowed"] is True, admitted
    env = _injected_env(admitted)
    assert env["DB_PASSWORD"] == {"secretKeyRef": {"name": "app", "key": "DB_PASSWORD"}}
    assert env["HTTP_TIMEOUT_MS"] == {"configMapKeyRef": {"name": "app", "key": "HTTP_TIMEOUT_MS"}}
    audit.flush(k8s_api, namespace)
    assert len(_environment_lists(audit, b.user, namespace)) == listed, (
        "the standby listed instead of its cache"
    )
    refused = admission_review(
        url_b, ca_b, namespace, pod_manifest("missing", {"ironflow.io/secrets": "NOT_DEFINED"})
    )
    assert refused["allowed"] is False and "NOT_DEFINED" in refused["status"]["message"]
    assert namespace in refused["status"]["message"]

    # (a) exactly one leader; the standby wrote nothing at all, not even the Lease it cannot take
    leader_writes = writes(audit, a.user)
    assert (
        leader_writes[("create", "secrets", "app")] == 1 and leader_writes[("patch", "secrets", "app")] == 1
    )
    assert leader_writes[("patch", "deployments", "web")] == 2  # baseline, then the roll
    registrations = {k: n for k, n in leader_writes.items() if k[1] == "mutatingwebhookconfigurations"}
    assert sum(registrations.values()) == 1, registrations  # registered once, not again at its gain
    assert writes(audit, b.user) == Counter(), writes(audit, b.user)
    assert audit.events(user=b.user, resource="leases", verb="get"), "B never tried the Lease"
    code, doc = _status(cli, namespace, a.operator_namespace)
    operator = doc["operator"]
    assert isinstance(operator, dict)
    assert code == 0, doc
    assert operator["state"] == "alive" and operator["source"] == "leader Lease"
    assert str(operator["detail"]).startswith("replica-a leads")

    # graceful hand-over: A releases the Lease as it stops, B leads at its next try
    before = writes(audit, b.user)
    stopped = time.monotonic()
    a.stop()
    handover = replicas.wait_holder("replica-b", timeout=RETRY_PERIOD + 10)
    print(
        f"graceful hand-over: replica-b leads {handover:.1f}s after replica-a was told to stop "
        f"({time.monotonic() - stopped:.1f}s including its shutdown)"
    )
    wait_until_injecting(k8s_api, namespace, run_b)  # the new leader registered its own webhook URL
    eventually(lambda: run_b.settled(2), what="the new leader's resync done")
    audit.flush(k8s_api, namespace)
    resync = without_leases(writes(audit, b.user) - before)
    assert resync == Counter({("update", "mutatingwebhookconfigurations", "ironflow-pod-declarations"): 1}), (
        resync
    )
    assert secret_data(k8s_api, namespace, "app") == {"DB_PASSWORD": "second"}

    # (d) both stopped: declaring pods fail closed, plain pods are admitted; status says so
    b.stop()
    assert_fail_closed(k8s_api, namespace, pod_manifest("declaring", {"ironflow.io/secrets": "DB_PASSWORD"}))
    code, doc = _status(cli, namespace, a.operator_namespace)
    operator = doc["operator"]
    assert isinstance(operator, dict)
    assert code == 4 and operator["state"] == "down" and operator["source"] == "leader Lease"
    assert "no operator holds the leader Lease" in str(operator["detail"])


def test_given_leader_killed_when_a_resource_changes_then_standby_takes_over_within_the_lease_and_projects_it(
    replicas: Replicas, k8s_api: client.ApiClient, namespace: str, cluster: Cluster
) -> None:
    audit = cluster.audit
    if audit is None:
        pytest.skip("write counts need the audit log of the session's own control plane")
    a, b = replicas.a, replicas.b
    key = new_key()
    a.set_master_key(key)
    replicas.grant_b()
    run_a, _ = replicas.start(a, "replica-a", webhook=False)
    replicas.wait_holder("replica-a")
    run_b, _ = replicas.start(b, "replica-b", webhook=False)
    count = 4
    for i in range(count):
        apply_cr(k8s_api, SECRET, namespace, f"s{i}", {f"S{i}": sealed(key, namespace, f"S{i}", f"v{i}")})
        apply_cr(k8s_api, CONFIG, namespace, f"c{i}", {f"C{i}": i})
    for i in range(count):
        wait_ready(k8s_api, SECRET, namespace, f"s{i}")
        wait_ready(k8s_api, CONFIG, namespace, f"c{i}")
    eventually(lambda: run_a.settled(2 * count), what="the leader idle")
    audit.flush(k8s_api, namespace)
    before_a, before_b = writes(audit, a.user), writes(audit, b.user)
    assert without_leases(before_b) == Counter()

    killed = time.monotonic()
    run_a.process.kill()
    run_a.process.wait(timeout=10)
    # A renews its Lease every retry period, so it may have written between the snapshot above and
    # the kill: what it wrote after its death is measured from a snapshot taken once it is dead.
    audit.flush(k8s_api, namespace)
    dead_a = writes(audit, a.user)
    assert without_leases(dead_a) == without_leases(before_a), "the leader wrote while idle"
    apply_cr(k8s_api, SECRET, namespace, "s0", {"S0": sealed(key, namespace, "S0", "after-the-kill")})
    replicas.wait_holder("replica-b", timeout=LEASE_DURATION + RETRY_PERIOD + 15)
    failover = time.monotonic() - killed
    print(f"fail-over after SIGKILL: replica-b leads {failover:.1f}s after replica-a died")
    assert failover <= LEASE_DURATION + RETRY_PERIOD + 3

    eventually(
        lambda: secret_data(k8s_api, namespace, "s0") == {"S0": "after-the-kill"},
        timeout=30,
        what="the change made after the kill projected by the new leader",
    )
    eventually(lambda: run_b.settled(2 * count), what="the new leader's resync done")
    for i in range(count):  # nothing lost
        assert secret_data(k8s_api, namespace, f"s{i}") == {f"S{i}": "after-the-kill" if i == 0 else f"v{i}"}
        assert configmap_data(k8s_api, namespace, f"c{i}") == {f"C{i}": str(i)}
    audit.flush(k8s_api, namespace)
    assert writes(audit, a.user) == dead_a, "the killed leader wrote after its death"
    taken = without_leases(writes(audit, b.user) - before_b)
    assert taken == Counter({("patch", "secrets", "s0"): 1, ("patch", "ironflowsecrets/status", "s0"): 1}), (
        taken
    )
    everything = without_leases(writes(audit, a.user) + writes(audit, b.user))
    for i in range(count):  # each object written exactly as often as its content changed
        assert everything[("create", "secrets", f"s{i}")] == 1
        assert everything[("create", "configmaps", f"c{i}")] == 1
        assert everything[("patch", "secrets", f"s{i}")] == (1 if i == 0 else 0)
        assert everything[("patch", "ironflowsecrets/status", f"s{i}")] == (2 if i == 0 else 1)
        assert everything[("patch", "ironflowconfigs/status", f"c{i}")] == 1
    assert everything[("create", "configmaps", "ironflow-sealing-key")] == 1
    lease_writes = writes(audit, b.user) - before_b
    assert lease_writes[("update", "leases", "ironflow-operator")] >= 1
