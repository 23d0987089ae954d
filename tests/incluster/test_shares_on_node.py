"""The chart with three replicas sharing the environments out: deleting one while declaring pods
are created and values change costs no admission and no value, and the shares spread again over
the replacement.

Installed as docs/install.md says with `replicas: 3` (shares are on by default above one
replica). Each replica keeps a member Lease in the operator namespace naming the replicas it
counts as live (`ironflow.dev/view`); the shares have spread when the member Leases are exactly
the Ready pods and every one of them publishes that same set.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
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
    ready,
    reported_ready,
    uninstalled,
    wait_operator_ready,
)
from kubernetes import client
from node_support import pod

from ironflow.controller.state import SYSTEM_NAMESPACES
from ironflow.core.shares import owner
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

REPLICAS = 3
ENVIRONMENTS = 9
MIN_PODS, MAX_PODS, PACE = 100, 400, 0.1  # declaring pods created around the deletion; seconds apart
DECLARES = {"ironflow.io/secrets": "DB_PASSWORD"}
MEMBERS = f"ironflow.dev/member-of={DEPLOYMENT}"
CLI_HOME = f"cli-shares-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def helm(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    assert cluster.bin_dir is not None and (cluster.bin_dir / "helm").is_file(), "run make control-plane"
    return Helm(cluster.bin_dir / "helm", cluster, tmp_path_factory.mktemp("helm-home-shares"))


@pytest.fixture(scope="module")
def installed(cluster: Cluster, node: Node, helm: Helm, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Helm]:  # fmt: skip
    TIMINGS.append(f"operator image imported in {import_image(node):.1f}s")
    cluster.kubectl("create", "namespace", NAMESPACE)
    key = ironflow(cluster, "keygen", user=CLI_HOME).strip()
    cluster.kubectl("create", "secret", "generic", "ironflow-master-key", "-n", NAMESPACE,
                    f"--from-literal=IRONFLOW_MASTER_KEY={key}")  # fmt: skip
    values = tmp_path_factory.mktemp("shares-values") / "values.yaml"
    values.write_text(yaml.safe_dump({"image": {"pullPolicy": "Never"}, "replicas": REPLICAS}))
    try:
        helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--values", str(values))
        wait_operator_ready(cluster, replicas=REPLICAS)
        yield helm
    finally:
        uninstalled(cluster, helm)


@pytest.fixture(scope="module")
def environments(cluster: Cluster, k8s_api: client.ApiClient, installed: Helm) -> Iterator[list[str]]:
    """Environments each with DB_PASSWORD set through the CLI and projected."""
    names = [f"shares-{i}-{uuid.uuid4().hex[:5]}" for i in range(ENVIRONMENTS)]
    core = client.CoreV1Api(k8s_api)
    for name in names:
        cluster.kubectl("create", "namespace", name)
    try:
        for name in names:
            eventually(lambda n=name: core.list_namespaced_service_account(n).items, timeout=60,  # type: ignore[misc]
                       what=f"the default ServiceAccount of {name}")  # fmt: skip
            ironflow(cluster, "secret", "set", "DB_PASSWORD", "--env", name, "-", input="v0", user=CLI_HOME)
        for name in names:
            eventually(lambda n=name: reported_ready(cluster, n), timeout=90,  # type: ignore[misc]
                       what=f"IronflowSecret app Ready in {name}")  # fmt: skip
        yield names
    finally:
        for name in names:
            cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _members(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """The member Leases by replica id."""
    out = cluster.kubectl("get", "leases", "-n", NAMESPACE, "-l", MEMBERS, "-o", "json").stdout
    return {str(item["spec"].get("holderIdentity")): item for item in json.loads(out)["items"]}


def _spread_over(cluster: Cluster, replicas: set[str]) -> dict[str, int] | None:
    """Each replica's share of namespaces once the member Leases are exactly `replicas`, every one
    publishes that set as its view, and each share is the one rendezvous hashing gives it over the
    cluster's served namespaces (the chart's default: all but Kubernetes' own); None before."""
    members = _members(cluster)
    if set(members) != replicas:
        return None
    wanted = ",".join(sorted(replicas))
    annotations = {rid: lease["metadata"].get("annotations") or {} for rid, lease in members.items()}
    if any(a.get("ironflow.dev/view") != wanted for a in annotations.values()):
        return None
    shares = {rid: int(a.get("ironflow.dev/share-namespaces") or 0) for rid, a in annotations.items()}
    listed = json.loads(cluster.kubectl("get", "namespaces", "-o", "json").stdout)["items"]
    # the namespaces the chart serves: all but Kubernetes' own (given no sealing key, holding no resource)
    namespaces = [n["metadata"]["name"] for n in listed if (n.get("status") or {}).get("phase") == "Active"
                  and n["metadata"]["name"] not in SYSTEM_NAMESPACES]
    expected = {rid: sum(1 for n in namespaces if owner(n, replicas) == rid) for rid in replicas}
    return shares if shares == expected else None


def _injected(created: client.V1Pod) -> bool:
    env = created.spec.containers[0].env or []
    return any(e.name == "DB_PASSWORD" and e.value_from is not None
               and e.value_from.secret_key_ref is not None for e in env)  # fmt: skip


def _projected(core: client.CoreV1Api, namespace: str) -> str | None:
    try:
        secret = core.read_namespaced_secret("app", namespace)
    except client.ApiException:
        return None
    data = secret.data or {}
    return base64.b64decode(data["DB_PASSWORD"]).decode() if "DB_PASSWORD" in data else None


class ValueChanges:
    """`ironflow secret set` of a new value in every environment, round after round, until stopped."""

    def __init__(self, cluster: Cluster, environments: list[str]) -> None:
        self.cluster, self.environments = cluster, environments
        self.latest: dict[str, str] = {}
        self.rounds = 0
        self.stop = threading.Event()
        self.failure: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="value-changes")

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                self.rounds += 1
                for name in self.environments:
                    value = f"v{self.rounds}-{uuid.uuid4().hex[:6]}"
                    ironflow(self.cluster, "secret", "set", "DB_PASSWORD", "--env", name, "-", input=value,
                             user=CLI_HOME)  # fmt: skip
                    self.latest[name] = value
        except BaseException as exc:  # reported by the test thread
            self.failure.append(exc)


def test_given_three_replicas_when_one_is_deleted_while_pods_are_created_and_values_change_then_nothing_fails(
    cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, environments: list[str]
) -> None:
    core = client.CoreV1Api(k8s_api)
    before = {p["metadata"]["name"] for p in wait_operator_ready(cluster, replicas=REPLICAS)}
    shares = eventually(lambda: _spread_over(cluster, before), timeout=60, what="shares over three replicas")
    assert sum(shares.values()) >= ENVIRONMENTS, shares
    victim = lease_holder(cluster).split("_", 1)[0]  # the elected one: its cluster-wide duties move too
    assert victim in before, (victim, before)
    changes = ValueChanges(cluster, environments)
    changes.thread.start()
    ok: list[float] = []
    failed: list[tuple[float, str]] = []
    begin = time.monotonic()
    deleted_at: float | None = None
    replaced_at: float | None = None
    try:
        # until the replacement is Ready, 100 pods were created and two whole rounds of changes done
        while (count := len(ok) + len(failed)) < MAX_PODS and (
                replaced_at is None or count < MIN_PODS or changes.rounds < 3):
            namespace = environments[count % len(environments)]
            body = pod(f"declaring-{count}", DECLARES)
            body["spec"]["nodeName"] = "ironflow-shares-nowhere"  # admitted, never run
            try:
                made = core.create_namespaced_pod(namespace, body)
            except client.ApiException as exc:
                failed.append((time.monotonic() - begin, f"{namespace}: {exc.status} {exc.reason}"))
            else:
                if _injected(made):
                    ok.append(time.monotonic() - begin)
                else:
                    failed.append((time.monotonic() - begin, f"{namespace}: not injected"))
            if count == 10:
                cluster.kubectl("delete", "pod", "-n", NAMESPACE, victim, "--wait=false")
                deleted_at = time.monotonic() - begin
            elif deleted_at is not None and replaced_at is None:
                names = {p["metadata"]["name"] for p in operator_pods(cluster)}
                if len(names - before) == 1 and victim not in names and len(_ready_now(cluster)) == REPLICAS:
                    replaced_at = time.monotonic() - begin
            time.sleep(PACE)
        assert replaced_at is not None, f"no replacement Ready within {MAX_PODS} pods"
    finally:
        changes.stop.set()
        changes.thread.join(timeout=300)
    try:
        assert not changes.failure, changes.failure
        assert failed == [], failed
        for name in environments:
            eventually(lambda n=name: _projected(core, n) == changes.latest[n], timeout=90,  # type: ignore[misc]
                       what=f"the last value set in {name} projected")  # fmt: skip
        after = {p["metadata"]["name"] for p in wait_operator_ready(cluster, replicas=REPLICAS)}
        assert victim not in after and len(after - before) == 1, (before, after)
        spread = eventually(lambda: _spread_over(cluster, after), timeout=90,
                            what="shares spread over the replacement, the deleted replica's Lease gone")
        TIMINGS.append(
            f"shares over {REPLICAS} replicas {sorted(shares.values())} namespaces; elected replica deleted "
            f"at {deleted_at:.1f}s, replacement Ready at {replaced_at:.1f}s, spread again "
            f"{sorted(spread.values())}; {len(ok)} declaring pods admitted, {len(failed)} failed; "
            f"{changes.rounds} rounds of value changes over {ENVIRONMENTS} environments, all projected"
        )
    finally:
        for name in environments:
            core.delete_collection_namespaced_pod(name, grace_period_seconds=0)


def _ready_now(cluster: Cluster) -> list[dict[str, Any]]:
    """The operator's Ready pods (not being deleted) right now."""
    return [p for p in operator_pods(cluster) if ready(p)]
