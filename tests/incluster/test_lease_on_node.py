"""The leader Lease of the chart's two replicas on the node: an operator outside the release holding
it, fail-over after SIGKILL and after a pod's deletion (measured), and uninstall then reinstall.

Runs after test_chart_on_node (which uninstalls its release and deletes the namespace) with a
release of its own; what each step took goes to the session's summary (docs/operations.md).
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from incluster_support import (
    CHART,
    DEPLOYMENT,
    NAMESPACE,
    RELEASE,
    TIMINGS,
    Helm,
    exists,
    import_image,
    ironflow,
    lease_holder,
    operator_pods,
    ready,
    uninstalled,
    wait_operator_ready,
)
from kubernetes import client
from test_chart_on_node import _container_pid, _pending_pod

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

OUTSIDER = "laptop_5e0d1a2b"  # what `make run` on a developer's machine writes: no pod
ROUNDS = 3  # fail-over measurements of each kind
LEASE_DURATION, RETRY_PERIOD, PRE_STOP = 15.0, 2.0, 5.0  # the chart's defaults
CONFIG = {"ironflow.io/configs": "LEASE_TEST"}


@pytest.fixture(scope="module")
def helm(cluster: Cluster, node: Node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helm]:
    assert cluster.bin_dir is not None and (cluster.bin_dir / "helm").is_file(), "run make control-plane"
    helm = Helm(cluster.bin_dir / "helm", cluster, tmp_path_factory.mktemp("helm-home"))
    import_image(node)
    uninstalled(cluster, helm)  # an earlier module's release, if any
    cluster.kubectl("create", "namespace", NAMESPACE)
    key = ironflow(cluster, "keygen").strip()
    cluster.kubectl("create", "secret", "generic", "ironflow-master-key", "-n", NAMESPACE,
                    f"--from-literal=IRONFLOW_MASTER_KEY={key}")  # fmt: skip
    try:
        yield helm
    finally:
        uninstalled(cluster, helm)


@pytest.fixture(scope="module")
def environment(cluster: Cluster, k8s_api: client.ApiClient, helm: Helm) -> Iterator[str]:
    name = f"lease-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    body = {"apiVersion": "ironflow.io/v1alpha1", "kind": "IronflowConfig",
            "metadata": {"name": "app", "namespace": name}, "spec": {"values": {"LEASE_TEST": 1}}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false")


def _lease(cluster: Cluster) -> dict[str, Any] | None:
    out = cluster.kubectl("get", "lease", DEPLOYMENT, "-n", NAMESPACE, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OutsideOperator:
    """Holds the Lease the way another operator (`make run`) does: renews it every retry period."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster, self.stop = cluster, threading.Event()
        spec = {"holderIdentity": OUTSIDER, "leaseDurationSeconds": int(LEASE_DURATION),
                "acquireTime": _now(), "renewTime": _now(), "leaseTransitions": 0}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE}, "spec": spec}
        cluster.kubectl("create", "-f", "-", input=json.dumps(body))
        self.thread = threading.Thread(target=self._renew, name="outside-operator", daemon=True)
        self.thread.start()

    def _renew(self) -> None:
        while not self.stop.wait(RETRY_PERIOD):
            patch = {"spec": {"renewTime": _now()}}
            self.cluster.kubectl("patch", "lease", DEPLOYMENT, "-n", NAMESPACE, "--type=merge",
                                 "-p", json.dumps(patch), check=False)  # fmt: skip

    def exit(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def _readyz(api: client.ApiClient, pod: str) -> str:
    """The body of the pod's /readyz through the API server's pod proxy (503 included)."""
    try:
        return str(client.CoreV1Api(api).connect_get_namespaced_pod_proxy_with_path(
            f"http:{pod}:8081", NAMESPACE, "readyz"))
    except client.ApiException as exc:
        return str(exc.body)


def test_given_another_operator_holds_the_lease_when_helm_install_then_pods_say_so_until_it_stops(
    cluster: Cluster, k8s_api: client.ApiClient, helm: Helm
) -> None:
    outside = OutsideOperator(cluster)
    try:
        helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--set", "image.pullPolicy=Never")
        line = "another operator outside this release holds the lease"

        def said() -> list[str] | None:
            pods = [p["metadata"]["name"] for p in operator_pods(cluster)]
            logs = [cluster.kubectl("logs", "-n", NAMESPACE, p, check=False).stdout for p in pods]
            return pods if pods and all(line in text and OUTSIDER in text for text in logs) else None

        pods = eventually(said, timeout=120, what="every operator pod logging who holds the Lease")
        assert not any(ready(p) for p in operator_pods(cluster)), "Ready without a webhook certificate"
        readyz = _readyz(k8s_api, pods[0])
        assert line in readyz and OUTSIDER in readyz, readyz
        status = ironflow(cluster, "status", "--operator-namespace", NAMESPACE, check=False)
        assert OUTSIDER in status and "not an in-cluster replica" in status, status
    finally:
        outside.exit()
    begin = time.monotonic()
    wait_operator_ready(cluster, timeout=120)  # the outsider's Lease expires; the release leads
    TIMINGS.append(f"outside operator stopped -> 2 operator pods Ready in {time.monotonic() - begin:.1f}s")
    assert lease_holder(cluster).split("_", 1)[0] in {p["metadata"]["name"] for p in operator_pods(cluster)}


def _take_over(cluster: Cluster, old: str, timeout: float = 60) -> tuple[str, float]:
    begin = time.monotonic()
    new = eventually(lambda: (h := lease_holder(cluster)) not in ("", old) and h, timeout=timeout,
                     what="a new leader")
    return new, time.monotonic() - begin


def test_given_two_replicas_when_the_leader_is_killed_or_deleted_then_the_other_replica_takes_over(
    cluster: Cluster, node: Node, helm: Helm
) -> None:
    crashes: list[float] = []
    for _ in range(ROUNDS):
        pods = wait_operator_ready(cluster)
        crashed = eventually(lambda: lease_holder(cluster) or None, timeout=60, what="a Lease holder")
        victim = crashed.split("_", 1)[0]
        other = ({p["metadata"]["name"] for p in pods} - {victim}).pop()
        os.kill(_container_pid(cluster, node, victim), signal.SIGKILL)
        new, took = _take_over(cluster, crashed)
        crashes.append(took)
        assert new.split("_", 1)[0] == other, f"{new} took over, not the standby {other}"
        assert took <= LEASE_DURATION + RETRY_PERIOD + 1.0, f"take-over {took:.1f}s after SIGKILL"
    deletions: list[float] = []
    for _ in range(ROUNDS):
        wait_operator_ready(cluster)
        leader = eventually(lambda: lease_holder(cluster) or None, timeout=60, what="a Lease holder")
        cluster.kubectl("delete", "pod", leader.split("_", 1)[0], "-n", NAMESPACE, "--wait=false")
        _, took = _take_over(cluster, leader)
        deletions.append(took)
        assert took <= PRE_STOP + 2 * RETRY_PERIOD + 1.0, f"take-over {took:.1f}s after the pod's deletion"
    TIMINGS.append("leader fail-over after SIGKILL: " + ", ".join(f"{t:.1f}s" for t in crashes)
                   + "; after deleting the leader's pod: " + ", ".join(f"{t:.1f}s" for t in deletions))
    wait_operator_ready(cluster)


def test_given_uninstalled_release_when_reinstalled_then_ready_means_declaring_pods_are_admitted(
    cluster: Cluster, k8s_api: client.ApiClient, helm: Helm, environment: str
) -> None:
    wait_operator_ready(cluster)
    eventually(lambda: exists(cluster, "configmap", "app", "-n", environment), timeout=60, what="projected")
    helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
    eventually(lambda: not operator_pods(cluster, terminating=True), timeout=120, what="no operator pod left")
    lease = _lease(cluster)
    TIMINGS.append(f"Lease after helm uninstall: holder {lease and lease['spec'].get('holderIdentity')!r}")
    # left behind, as docs/install.md's Uninstalling table says
    assert lease is not None, "the Lease"
    for what in (("secret", "ironflow-master-key"), ("secret", "ironflow-webhook-tls"),
                 ("configmap", "ironflow-signing-key")):  # fmt: skip
        assert exists(cluster, *what, "-n", NAMESPACE), what
    assert exists(cluster, "configmap", "ironflow-sealing-key", "-n", environment)
    assert exists(cluster, "crd", "ironflowconfigs.ironflow.io")

    begin, installed_at = time.monotonic(), datetime.datetime.now(datetime.UTC)
    helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--set", "image.pullPolicy=Never")
    wait_operator_ready(cluster, timeout=120)
    became_ready = time.monotonic() - begin
    # Ready means callable: a declaring pod created at once is admitted and injected
    core = client.CoreV1Api(k8s_api)
    body = _pending_pod("right-after-reinstall")
    body["metadata"]["annotations"] = CONFIG
    try:
        made = core.create_namespaced_pod(environment, body)
    except client.ApiException as exc:
        pytest.fail(f"refused {time.monotonic() - begin - became_ready:.1f}s after Ready: {exc.body}")
    env = made.spec.containers[0].env or []
    assert any(e.name == "LEASE_TEST" and e.value_from and e.value_from.config_map_key_ref for e in env), env
    holder = lease_holder(cluster).split("_", 1)[0]
    assert holder in {p["metadata"]["name"] for p in operator_pods(cluster)}
    acquire_time = (_lease(cluster) or {})["spec"]["acquireTime"].replace("Z", "+00:00")
    took = (datetime.datetime.fromisoformat(acquire_time) - installed_at).total_seconds()
    logs = cluster.kubectl("logs", "-n", NAMESPACE, holder).stdout
    TIMINGS.append(f"reinstall: helm install -> Lease taken in {took:.1f}s, 2 pods Ready in "
                   f"{became_ready:.1f}s, a declaring pod created at once admitted")
    assert "its pod is gone" in logs, "the dead holder's Lease was waited out, not taken at once"
    core.delete_collection_namespaced_pod(environment, grace_period_seconds=0)
