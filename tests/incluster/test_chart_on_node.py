"""`helm install` on the node: the operator's own image runs as its pods, with in-cluster
credentials and the chart's RBAC, and an application pod prints exactly the value a user set.

Everything goes the way a user's would: the chart with its defaults plus the local image
(`image.pullPolicy=Never`), so the operator manages its own webhook certificate; the operator
dials the API server through the `kubernetes` Service (ironflow_testbed/nodenet.py), the API server calls
the webhook Service's endpoints; the value goes `ironflow secret set` -> sealed resource ->
operator -> Secret -> webhook -> kubelet -> the container's environment.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
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
    reported_ready,
    uninstalled,
    wait_operator_ready,
)
from kubernetes import client
from node_support import pod, run

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

CANARY = "canary-incluster-5e0d"
MIN_PODS, MAX_PODS, PACE = 100, 200, 0.15  # declaring pods created during the upgrade; seconds apart
SERVICE_ACCOUNT_USER = f"system:serviceaccount:{NAMESPACE}:{DEPLOYMENT}"
DECLARES = {"ironflow.io/secrets": "DB_PASSWORD"}
LEASE_DURATION, RETRY_PERIOD = 15.0, 2.0  # the chart's defaults (values.yaml leaderElection)
# How many audit records existed when the current release was installed: what the operator asked
# of this install starts there (an uninstall before it sees its stopping pods refused by RBAC
# already removed, which says nothing about the chart's RBAC).
INSTALLED_AT: dict[str, int] = {}
# The CLI's home for this module's master key: a new key is a new signer, which a home that pinned
# the old one rightly refuses (a fresh `release` fixture gets a fresh key and home).
CLI_HOME: dict[str, str] = {}


@pytest.fixture(scope="module")
def helm(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    assert cluster.bin_dir is not None and (cluster.bin_dir / "helm").is_file(), "run make control-plane"
    return Helm(cluster.bin_dir / "helm", cluster, tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="module")
def release(cluster: Cluster, node: Node, helm: Helm) -> Iterator[Helm]:
    """What every install of this module shares: the image on the node, the operator namespace and
    its master key. At the end the release and the namespace are removed, whatever the tests did."""
    TIMINGS.append(f"operator image imported in {import_image(node):.1f}s")
    cluster.kubectl("create", "namespace", NAMESPACE)
    CLI_HOME["user"] = f"cli-chart-{uuid.uuid4().hex[:6]}"
    key = ironflow(cluster, "keygen", user=CLI_HOME["user"]).strip()
    cluster.kubectl(
        "create", "secret", "generic", "ironflow-master-key", "-n", NAMESPACE,
        f"--from-literal=IRONFLOW_MASTER_KEY={key}",
    )  # fmt: skip
    try:
        yield helm
    finally:
        uninstalled(cluster, helm)


def _working(cluster: Cluster) -> bool:
    """A current pod leads, and the webhook configuration trusts the CA in the serving Secret.

    Both lag the pods' readiness after a re-install over what an uninstall keeps (docs/install.md,
    Uninstalling): the Lease of the removed pods must expire before a new leader is elected, and
    only a leader puts the kept CA into the freshly created configuration (up to the Lease
    duration, during which declaring pods are refused with x509 errors)."""
    holder = lease_holder(cluster).split("_", 1)[0]
    if holder not in {p["metadata"]["name"] for p in operator_pods(cluster)}:
        return False
    config = cluster.kubectl("get", "mutatingwebhookconfiguration", "ironflow-pod-declarations", "-o", "json",
                             check=False)  # fmt: skip
    ca = cluster.kubectl("get", "secret", "ironflow-webhook-tls", "-n", NAMESPACE, "-o",
                         "jsonpath={.data.ca\\.crt}", check=False).stdout.strip()  # fmt: skip
    if config.returncode != 0 or not ca:
        return False
    bundles = [(w["clientConfig"].get("caBundle") or "") for w in json.loads(config.stdout)["webhooks"]]
    return all(base64.b64decode(ca) in base64.b64decode(bundle) for bundle in bundles)


@pytest.fixture
def installed(cluster: Cluster, release: Helm) -> Helm:
    """The chart installed as docs/install.md says and working (pods Ready, a current leader, the
    webhook trusted), before every test: installed once per module, and again after a test that
    uninstalled it (tests run in any order)."""
    begin = time.monotonic()
    fresh = RELEASE not in release("list", "--namespace", NAMESPACE, "--short").split()
    if fresh:
        # pods of an uninstalled release keep running through their preStop sleep, and their calls
        # are refused once the RBAC is gone: let them finish before this install's record starts
        eventually(lambda: not operator_pods(cluster, terminating=True), timeout=120,
                   what="the pods of an earlier install gone")  # fmt: skip
        assert cluster.audit is not None, "the RBAC proof needs the session's own control plane"
        INSTALLED_AT["audit"] = len(cluster.audit.events())
        release("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--set", "image.pullPolicy=Never")
    wait_operator_ready(cluster)  # also after a test that replaced or scaled the pods
    eventually(lambda: _working(cluster), timeout=LEASE_DURATION + 60,
               what="a current leader and the webhook trusted")  # fmt: skip
    if fresh:
        took = time.monotonic() - begin
        TIMINGS.append(f"helm install -> 2 operator pods Ready and leading in {took:.1f}s")
    return release


@pytest.fixture(scope="module")
def environment(cluster: Cluster, k8s_api: client.ApiClient, release: Helm) -> Iterator[str]:
    """One environment for the whole module: a value set in it must survive fail-over and upgrades."""
    name = f"incluster-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    eventually(
        lambda: client.CoreV1Api(k8s_api).list_namespaced_service_account(name).items,
        timeout=60,
        what="the default ServiceAccount",
    )
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def with_value(cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, environment: str) -> str:
    """The environment holding DB_PASSWORD = CANARY, set with `ironflow secret set` as a user would
    (once: a later test finds it projected already) and projected into the Secret `app`."""
    if "DB_PASSWORD" not in _projected(k8s_api, environment):
        ironflow(cluster, "secret", "set", "DB_PASSWORD", "--env", environment, "-", input=CANARY,
                 user=CLI_HOME["user"])  # fmt: skip
    eventually(
        lambda: "DB_PASSWORD" in _projected(k8s_api, environment),
        timeout=90,
        what="the projected Secret app holding DB_PASSWORD",
    )
    # the webhook injects a name only once its status says it is projected
    eventually(lambda: reported_ready(cluster, environment), timeout=60, what="IronflowSecret app Ready")
    return environment


def test_given_chart_installed_when_user_sets_a_secret_then_application_pod_prints_exactly_it(
    cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, with_value: str, node: Node
) -> None:
    # the operator runs as the chart's ServiceAccount, through the kubernetes Service
    pods = operator_pods(cluster)
    assert {p["spec"]["serviceAccountName"] for p in pods} == {DEPLOYMENT}
    holder = eventually(lambda: lease_holder(cluster) or None, timeout=60, what="a Lease holder")
    assert holder.split("_", 1)[0] in {p["metadata"]["name"] for p in pods}

    report = run(cluster, k8s_api, with_value, pod(f"app-{uuid.uuid4().hex[:6]}", DECLARES))

    assert report.env.get("DB_PASSWORD") == CANARY
    assert cluster.audit is not None
    events = [e for e in cluster.audit.events()[INSTALLED_AT["audit"]:] if e.user == SERVICE_ACCOUNT_USER]
    assert events, "no request of the operator's ServiceAccount reached the API server"
    decision = "authorization.k8s.io/decision"
    denied = [(e.verb, e.resource, e.namespace) for e in events
              if (e.raw.get("annotations") or {}).get(decision) == "forbid"]  # fmt: skip
    assert denied == [], f"the chart's RBAC refused the operator: {denied}"
    for p in operator_pods(cluster):
        logs = cluster.kubectl("logs", "-n", NAMESPACE, p["metadata"]["name"]).stdout
        assert CANARY not in logs, "a secret value in the operator's log"


def _projected(api: client.ApiClient, namespace: str) -> dict[str, str]:
    """Names in the projected Secret `app` (empty while it does not exist yet)."""
    for secret in client.CoreV1Api(api).list_namespaced_secret(namespace).items:
        if secret.metadata.name == "app":
            return dict(secret.data or {})
    return {}


def _container_pid(cluster: Cluster, node: Node, pod_name: str) -> int:
    """The operator process of `pod_name`, as the node's containerd sees it (crictl inspect)."""
    assert cluster.bin_dir is not None
    crictl = [str(cluster.bin_dir / "crictl"), f"--runtime-endpoint=unix://{node.layout.socket}"]
    ids = subprocess.run([*crictl, "ps", "-q", "--label", f"io.kubernetes.pod.name={pod_name}"],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert len(ids) == 1, f"containers of {pod_name}: {ids}"
    inspected = subprocess.run([*crictl, "inspect", ids[0]], capture_output=True, text=True, check=True)
    return int(json.loads(inspected.stdout)["info"]["pid"])


def _take_over(cluster: Cluster, old: str) -> tuple[str, float]:
    """Wait for a holder other than the identity `old`; returns it and the seconds waited."""
    begin = time.monotonic()
    new = eventually(
        lambda: (h := lease_holder(cluster)) not in ("", old) and h, timeout=60, what="a new leader"
    )
    return new, time.monotonic() - begin


def test_given_leader_killed_when_lease_expires_then_other_replica_leads_and_values_survive(
    cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, with_value: str, node: Node
) -> None:
    environment = with_value
    before = _projected(k8s_api, environment)
    crashed = eventually(lambda: lease_holder(cluster) or None, timeout=60, what="a Lease holder")
    # a crash: SIGKILL of the leader's process, so the Lease is not released and must expire
    os.kill(_container_pid(cluster, node, crashed.split("_", 1)[0]), signal.SIGKILL)
    new, crash_took = _take_over(cluster, crashed)
    assert crash_took <= LEASE_DURATION + 2 * RETRY_PERIOD, f"take-over after {crash_took:.1f}s"
    # a clean stop: the leader's pod deleted (preStop, SIGTERM, the Lease released)
    cluster.kubectl("delete", "pod", new.split("_", 1)[0], "-n", NAMESPACE, "--wait=false")
    _, clean_took = _take_over(cluster, new)
    TIMINGS.append(f"leader fail-over: {crash_took:.1f}s after SIGKILL of the leader (Lease duration "
                   f"{LEASE_DURATION:.0f}s), {clean_took:.1f}s after deleting the leader's pod")  # fmt: skip
    assert clean_took <= LEASE_DURATION, f"take-over after a clean stop took {clean_took:.1f}s"

    assert _projected(k8s_api, environment) == before  # nothing lost, nothing rewritten
    report = run(cluster, k8s_api, environment, pod(f"after-failover-{uuid.uuid4().hex[:6]}", DECLARES))
    assert report.env.get("DB_PASSWORD") == CANARY


def _pending_pod(name: str) -> dict[str, Any]:
    """A declaring pod bound to a node that does not exist: admitted (or not), never run."""
    body = pod(name, DECLARES)
    body["spec"]["nodeName"] = "ironflow-incluster-nowhere"
    return body


def _injected(created: client.V1Pod) -> bool:
    env = created.spec.containers[0].env or []
    return any(
        e.name == "DB_PASSWORD" and e.value_from is not None and e.value_from.secret_key_ref is not None
        and e.value_from.secret_key_ref.name == "app"
        for e in env
    )  # fmt: skip


def test_given_helm_upgrade_rolling_the_operator_when_pods_are_created_then_none_is_refused(
    cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, with_value: str
) -> None:
    environment = with_value  # the pods declare DB_PASSWORD: required, so it must be defined
    core = client.CoreV1Api(k8s_api)
    names_before = {p["metadata"]["name"] for p in operator_pods(cluster)}
    rolled = threading.Event()
    upgrade_error: list[BaseException] = []

    def upgrade() -> None:
        try:
            roll = f"podAnnotations.ironflow-test/roll={uuid.uuid4().hex[:8]}"
            installed("upgrade", RELEASE, str(CHART), "--namespace", NAMESPACE, "--reuse-values",
                      "--set", roll, "--wait")  # fmt: skip
        except BaseException as exc:  # reported by the test thread below
            upgrade_error.append(exc)
        finally:
            rolled.set()

    thread = threading.Thread(target=upgrade, name="helm-upgrade")
    refused: list[str] = []
    not_injected: list[str] = []
    created = 0
    begin = time.monotonic()
    thread.start()
    while created < MAX_PODS and not (rolled.is_set() and created >= MIN_PODS):
        name = f"during-upgrade-{created}"
        try:
            made = core.create_namespaced_pod(environment, _pending_pod(name))
            if not _injected(made):
                not_injected.append(name)
        except client.ApiException as exc:
            refused.append(f"{name}: {exc.status} {exc.reason} {exc.body}")
        created += 1
        rolled.wait(PACE)  # spread the pods over the rollout; returns at once when it is done
    covered = rolled.is_set()  # pods were created for the whole rollout, not only its start
    thread.join(timeout=300)
    took = time.monotonic() - begin
    assert not upgrade_error, upgrade_error
    assert covered, f"{created} pods created before the rollout finished: raise PACE"
    TIMINGS.append(f"helm upgrade rolled the operator in {took:.1f}s while {created} declaring pods were "
                   f"created: {len(refused)} refused, {len(not_injected)} without their value")  # fmt: skip
    assert refused == [], refused
    assert not_injected == [], not_injected
    names_after = {p["metadata"]["name"] for p in wait_operator_ready(cluster)}
    assert not names_after & names_before, "the upgrade did not roll the operator pods"
    core.delete_collection_namespaced_pod(environment, grace_period_seconds=0)


def test_given_no_operator_replica_when_pods_are_created_then_declaring_fail_closed_and_plain_admitted(
    cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, with_value: str
) -> None:
    environment = with_value
    core = client.CoreV1Api(k8s_api)
    cluster.kubectl("scale", "deployment", DEPLOYMENT, "-n", NAMESPACE, "--replicas=0")
    try:
        # gone, not only terminating: a stopping replica keeps serving through its preStop sleep
        eventually(
            lambda: not operator_pods(cluster, terminating=True), timeout=120, what="no operator pod left"
        )
        plain = _pending_pod("plain")
        plain["metadata"]["annotations"] = {}
        core.create_namespaced_pod(environment, plain)  # never sent to the webhook (matchConditions)
        with pytest.raises(client.ApiException) as caught:
            core.create_namespaced_pod(environment, _pending_pod("declaring"))
        assert caught.value.status in (500, 503), caught.value  # the webhook call failed: refused
        assert "declarations.pods.ironflow.io" in str(caught.value.body)
        assert {p.metadata.name for p in core.list_namespaced_pod(environment).items} >= {"plain"}
        assert "declaring" not in {p.metadata.name for p in core.list_namespaced_pod(environment).items}
    finally:
        cluster.kubectl("scale", "deployment", DEPLOYMENT, "-n", NAMESPACE, "--replicas=2")
        wait_operator_ready(cluster)
    core.delete_collection_namespaced_pod(environment, grace_period_seconds=0)


def test_given_installed_release_when_helm_uninstall_then_what_docs_say_goes_and_the_rest_stays(
    cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, with_value: str
) -> None:
    environment = with_value  # (the next test's `installed` installs the release again)
    projected = _projected(k8s_api, environment)
    assert "DB_PASSWORD" in projected
    installed("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
    # removed (docs/install.md, Uninstalling)
    assert not exists(cluster, "mutatingwebhookconfiguration", "ironflow-pod-declarations")
    assert not exists(cluster, "deployment", DEPLOYMENT, "-n", NAMESPACE)
    assert not exists(cluster, "service", "ironflow-webhook", "-n", NAMESPACE)
    assert not exists(cluster, "clusterrole", "ironflow-operator-webhook-ca")
    # kept
    assert exists(cluster, "crd", "ironflowsecrets.ironflow.io")
    assert exists(cluster, "crd", "ironflowconfigs.ironflow.io")
    assert exists(cluster, "secret", "ironflow-master-key", "-n", NAMESPACE)
    assert exists(cluster, "secret", "ironflow-webhook-tls", "-n", NAMESPACE)  # the operator made it
    assert exists(cluster, "ironflowsecret", "app", "-n", environment)
    assert _projected(k8s_api, environment) == projected
    # a declaring pod is now created without injection (nothing intercepts it any more)
    core = client.CoreV1Api(k8s_api)
    made = core.create_namespaced_pod(environment, _pending_pod("after-uninstall"))
    assert not _injected(made)
    core.delete_namespaced_pod("after-uninstall", environment, grace_period_seconds=0)
