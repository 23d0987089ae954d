"""The chart on two nodes: its replicas spread, a drain costs no admission and respects the
PodDisruptionBudget, and a lost node (not drained) leaves the other replica serving while the lost
replica is replaced on the surviving node after the taint-based eviction.

The second node joins the session's node for this module only (its own containerd and kubelet,
127.0.0.2, pods on the same bridge). The chart is installed as docs/install.md says, plus
test-sized tolerations (the chart's `tolerations` value): evicted 10 s after the node is found
unreachable instead of the default 300 s; the controller manager finds it in 20 s (envtest).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from incluster_support import (
    CHART,
    DEPLOYMENT,
    NAMESPACE,
    RELEASE,
    TIMINGS,
    Helm,
    import_image,
    ironflow,
    lease_holder,
    operator_pods,
    reported_ready,
    uninstalled,
    wait_operator_ready,
)
from kubernetes import client
from node_fixtures import another_node
from node_support import pod

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

TOLERATION_SECONDS = 10
MIN_PODS, MAX_PODS, PACE = 100, 600, 0.15  # declaring pods created during a disruption; seconds apart
DECLARES = {"ironflow.io/secrets": "DB_PASSWORD"}
CLI_HOME = f"cli-two-nodes-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def second(cluster: Cluster, node: Node) -> Iterator[Node]:
    with another_node(cluster, node) as extra:
        yield extra


@pytest.fixture(scope="module")
def helm(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    assert cluster.bin_dir is not None and (cluster.bin_dir / "helm").is_file(), "run make control-plane"
    return Helm(cluster.bin_dir / "helm", cluster, tmp_path_factory.mktemp("helm-home-two-nodes"))


@pytest.fixture(scope="module")
def installed(cluster: Cluster, node: Node, second: Node, helm: Helm, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Helm]:  # fmt: skip
    """The chart on both nodes (the image imported into each containerd), with test-sized
    tolerations; removed at the end whatever the tests did."""
    TIMINGS.append(f"operator image imported into both nodes in {import_image(node):.1f}s")
    cluster.kubectl("create", "namespace", NAMESPACE)
    key = ironflow(cluster, "keygen", user=CLI_HOME).strip()
    cluster.kubectl("create", "secret", "generic", "ironflow-master-key", "-n", NAMESPACE,
                    f"--from-literal=IRONFLOW_MASTER_KEY={key}")  # fmt: skip
    values = tmp_path_factory.mktemp("two-nodes-values") / "values.yaml"
    values.write_text(yaml.safe_dump({"image": {"pullPolicy": "Never"}, "tolerations": [
        {"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": TOLERATION_SECONDS}
        for taint in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]}))  # fmt: skip
    try:
        helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--values", str(values))
        wait_operator_ready(cluster)
        eventually(lambda: _leader(cluster) is not None, timeout=90, what="an elected replica")
        yield helm
    finally:
        uninstalled(cluster, helm)


@pytest.fixture(scope="module")
def environment(cluster: Cluster, k8s_api: client.ApiClient, installed: Helm) -> Iterator[str]:
    """DB_PASSWORD set with the CLI and projected, so a declaring pod is admitted with it."""
    name = f"two-nodes-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    eventually(lambda: client.CoreV1Api(k8s_api).list_namespaced_service_account(name).items, timeout=60,
               what="the default ServiceAccount")  # fmt: skip
    ironflow(cluster, "secret", "set", "DB_PASSWORD", "--env", name, "-", input="two-nodes", user=CLI_HOME)
    eventually(lambda: reported_ready(cluster, name), timeout=90, what="IronflowSecret app Ready")
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false")


def _leader(cluster: Cluster) -> dict[str, Any] | None:
    holder = lease_holder(cluster).split("_", 1)[0]
    return next((p for p in operator_pods(cluster) if p["metadata"]["name"] == holder), None)


def _nodes_of(pods: list[dict[str, Any]]) -> list[str]:
    return sorted(p["spec"].get("nodeName") or "" for p in pods)


def _spread(cluster: Cluster, nodes: list[Node]) -> list[dict[str, Any]]:
    """Both replicas Ready, one on each node. After a drain both run on the node that stayed; a
    deleted replica comes back where the chart's anti-affinity prefers: the other node."""
    def spread() -> list[dict[str, Any]] | None:
        pods = wait_operator_ready(cluster)
        if _nodes_of(pods) == sorted(n.name for n in nodes):
            return pods
        cluster.kubectl("delete", "pod", "-n", NAMESPACE, pods[-1]["metadata"]["name"], "--wait=false")
        return None

    return eventually(spread, timeout=240, what="one operator replica on each node")


def _injected(created: client.V1Pod) -> bool:
    env = created.spec.containers[0].env or []
    return any(e.name == "DB_PASSWORD" and e.value_from is not None
               and e.value_from.secret_key_ref is not None for e in env)  # fmt: skip


class Admissions:
    """Declaring pods (bound to a node that does not exist: admitted, never run) created one after
    another; what the webhook said to each, and when."""

    def __init__(self, api: client.ApiClient, namespace: str, step: str) -> None:
        self.core, self.namespace, self.step = client.CoreV1Api(api), namespace, step
        self.ok: list[float] = []
        self.failed: list[tuple[float, str]] = []
        self.begin = time.monotonic()

    def create_one(self) -> None:
        body = pod(f"{self.step}-{len(self.ok) + len(self.failed)}", DECLARES)
        body["spec"]["nodeName"] = "ironflow-two-nodes-nowhere"
        try:
            made = self.core.create_namespaced_pod(self.namespace, body)
        except client.ApiException as exc:
            self.failed.append((time.monotonic() - self.begin, f"{exc.status}: {_message(exc)}"))
            return
        if _injected(made):
            self.ok.append(time.monotonic() - self.begin)
        else:
            self.failed.append((time.monotonic() - self.begin, f"{body['metadata']['name']}: not injected"))

    @property
    def count(self) -> int:
        return len(self.ok) + len(self.failed)


def _message(exc: client.ApiException) -> str:
    """The API server's message, from the webhook's name on (the part that says what failed)."""
    try:
        message = str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except ValueError:
        message = str(exc.reason)
    return message[message.find("webhook"):] if "webhook" in message else message


def _in_thread(action: Callable[[], None]) -> tuple[threading.Thread, threading.Event, list[BaseException]]:
    done, failure = threading.Event(), []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # reported by the test thread
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run, name=action.__name__)
    thread.start()
    return thread, done, failure


def test_given_two_nodes_when_chart_installed_then_its_replicas_run_on_different_nodes(
    cluster: Cluster, node: Node, second: Node, installed: Helm
) -> None:
    pods = wait_operator_ready(cluster)
    assert _nodes_of(pods) == sorted([node.name, second.name]), _nodes_of(pods)


def _dry_run_eviction(core: client.CoreV1Api, name: str) -> int:
    """The Eviction API's answer for `name` without evicting it: 201 allowed, 429 refused by the PDB."""
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=NAMESPACE),
                             delete_options=client.V1DeleteOptions(dry_run=["All"]))  # fmt: skip
    try:
        core.create_namespaced_pod_eviction(name, NAMESPACE, body)
    except client.ApiException as exc:
        return int(exc.status)
    return 201


def _replicas(core: client.CoreV1Api) -> dict[str, client.V1Pod]:
    """The operator's pods that are not being deleted, by name (the client, not a kubectl process:
    these loops run between pod creations and must not slow them down)."""
    selector = f"app.kubernetes.io/name={DEPLOYMENT},app.kubernetes.io/instance={RELEASE}"
    listed = core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
    return {p.metadata.name: p for p in listed if p.metadata.deletion_timestamp is None}


def _is_ready(pod_: client.V1Pod) -> bool:
    conditions = (pod_.status and pod_.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _ready_names(core: client.CoreV1Api) -> set[str]:
    return {name for name, p in _replicas(core).items() if _is_ready(p)}


def test_given_leader_node_drained_while_declaring_pods_are_created_then_none_fails_and_pdb_holds(
    cluster: Cluster, k8s_api: client.ApiClient, node: Node, second: Node, installed: Helm, environment: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    _spread(cluster, [node, second])
    leader = eventually(lambda: _leader(cluster), timeout=60, what="the elected replica")
    drained = leader["spec"]["nodeName"]
    (survivor,) = [p["metadata"]["name"] for p in operator_pods(cluster) if p["spec"]["nodeName"] != drained]
    admissions = Admissions(k8s_api, environment, "during-drain")
    probes: list[tuple[int, int, int]] = []  # (Ready replicas before, after, eviction answer)

    def drain() -> None:
        # --force: a bare pod another module left terminating on the node does not stop the drain;
        # every operator pod still goes through the Eviction API and its PodDisruptionBudget
        cluster.kubectl("drain", drained, "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                        "--timeout=300s", timeout=330)  # fmt: skip

    begin = time.monotonic()
    thread, done, failure = _in_thread(drain)
    try:
        while admissions.count < MAX_PODS and not (done.is_set() and admissions.count >= MIN_PODS):
            admissions.create_one()
            if not done.is_set() or len(_ready_names(core)) < 2:
                before = len(_ready_names(core))
                answer = _dry_run_eviction(core, survivor)
                probes.append((before, len(_ready_names(core)), answer))
            done.wait(PACE)
        covered = done.is_set()
        thread.join(timeout=360)
        took = time.monotonic() - begin
        assert not failure, failure
        assert covered, f"{admissions.count} pods created before the drain finished: raise MAX_PODS"
        replacement = wait_operator_ready(cluster)
        assert all(p["spec"]["nodeName"] != drained for p in replacement), "a replica on the cordoned node"
        # the PDB (minAvailable 1): while only the survivor was Ready, evicting it was refused
        alone = [answer for before, after, answer in probes if before == after == 1]
        TIMINGS.append(
            f"drain of {drained} (held the elected replica) took {took:.1f}s while {admissions.count} "
            f"declaring pods were created: {len(admissions.ok)} admitted, {len(admissions.failed)} failed; "
            f"{len(alone)} evictions of the last Ready replica tried (dry run), "
            f"{alone.count(429)} refused by the PodDisruptionBudget"
        )
        assert admissions.failed == [], admissions.failed
        assert alone, f"no moment with one Ready replica was observed: {probes}"
        assert set(alone) == {429}, f"the last Ready replica could be evicted: {probes}"
        assert min(before for before, _, _ in probes) >= 1, f"no Ready replica at some point: {probes}"
        eventually(lambda: _dry_run_eviction(core, survivor) == 201, timeout=60,
                   what="evictions allowed again once the replacement is Ready")  # fmt: skip
    finally:
        cluster.kubectl("uncordon", drained)
        core.delete_collection_namespaced_pod(environment, grace_period_seconds=0)


def _node_ready(core: client.CoreV1Api, name: str) -> bool:
    conditions = core.read_node(name).status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def test_given_a_node_lost_then_the_other_replica_serves_and_the_lost_one_is_replaced_on_the_survivor(
    cluster: Cluster, k8s_api: client.ApiClient, node: Node, second: Node, installed: Helm, environment: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    pods = _spread(cluster, [node, second])
    (lost,) = [p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == second.name]
    (kept,) = [p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node.name]
    led = (_leader(cluster) or {}).get("metadata", {}).get("name") == lost
    admissions = Admissions(k8s_api, environment, "node-lost")
    not_ready_at: float | None = None
    replaced_at: float | None = None
    second.lose()  # kubelet, containerd, shims and containers SIGKILLed: the Node object stays
    try:
        budget = 20 + 40 + TOLERATION_SECONDS + 120  # grace, margin, eviction, a replica's start
        deadline = admissions.begin + budget
        while time.monotonic() < deadline and not (replaced_at is not None and admissions.count >= MIN_PODS):
            admissions.create_one()
            now = time.monotonic() - admissions.begin
            if not_ready_at is None and not _node_ready(core, second.name):
                not_ready_at = now
            current = _replicas(core)
            assert kept in current and _is_ready(current[kept]), f"the replica on {node.name} stopped serving"
            fresh = [p for n, p in current.items() if n not in (lost, kept) and _is_ready(p)]
            if replaced_at is None and fresh:
                assert fresh[0].spec.node_name == node.name, fresh[0].spec
                replaced_at = now
            time.sleep(PACE)
        assert not_ready_at is not None, f"node {second.name} never went NotReady"
        assert replaced_at is not None, f"no replacement Ready on {node.name} within {budget}s"
        holder = eventually(lambda: _leader(cluster), timeout=60, what="an elected replica on the survivor")
        assert holder["spec"]["nodeName"] == node.name
        late = [(at, why) for at, why in admissions.failed if at > not_ready_at + 5]
        TIMINGS.append(
            f"node {second.name} lost (its replica {'was' if led else 'was not'} the elected one): "
            f"NotReady after {not_ready_at:.1f}s, replacement Ready on {node.name} after {replaced_at:.1f}s; "
            f"{admissions.count} declaring pods: {len(admissions.ok)} admitted, "
            f"{len(admissions.failed)} failed (all before the node was marked NotReady + 5 s: {not late})"
            + f" at {', '.join(f'{at:.1f}' for at, _ in admissions.failed)} s"
            + "".join(f"; {why}" for why in sorted({why for _, why in admissions.failed}))
        )
        assert late == [], f"admissions failed after the lost node's endpoint was gone: {late}"
        assert len(admissions.ok) >= MIN_PODS // 2, f"the survivor served too few: {len(admissions.ok)}"
    finally:
        # what an administrator does for a node that will not come back: its pods go for good
        cluster.kubectl("delete", "pods", "-A", f"--field-selector=spec.nodeName={second.name}", "--force",
                        "--grace-period=0", check=False)  # fmt: skip
        core.delete_collection_namespaced_pod(environment, grace_period_seconds=0)
