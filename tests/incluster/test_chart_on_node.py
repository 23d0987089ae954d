"""`helm install` on the node: the operator's own image runs as its pods, with in-cluster
credentials and the chart's RBAC, and an application pod prints exactly the value a user set.

Everything goes the way a user's would: the chart with its defaults plus the local image
(`image.pullPolicy=Never`), so the operator manages its own webhook certificate; the operator
dials the API server through the `kubernetes` Service (envtest/nodenet.py), the API server calls
the webhook Service's endpoints; the value goes `ironflow secret set` -> sealed resource ->
operator -> Secret -> webhook -> kubelet -> the container's environment.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
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
    wait_operator_ready,
)
from kubernetes import client
from node_support import pod, run

from ironflow.envtest import eventually
from ironflow.envtest.cluster import Cluster
from ironflow.envtest.node import Node

CANARY = "canary-incluster-5e0d"
SERVICE_ACCOUNT_USER = f"system:serviceaccount:{NAMESPACE}:{DEPLOYMENT}"


@pytest.fixture(scope="module")
def helm(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    assert cluster.bin_dir is not None and (cluster.bin_dir / "helm").is_file(), "run make control-plane"
    return Helm(cluster.bin_dir / "helm", cluster, tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="module")
def installed(cluster: Cluster, node: Node, helm: Helm) -> Iterator[Helm]:
    """The chart installed as docs/install.md says, both operator pods Ready; uninstalled after."""
    TIMINGS.append(f"operator image imported in {import_image(node):.1f}s")
    cluster.kubectl("create", "namespace", NAMESPACE)
    key = ironflow(cluster, "keygen").strip()
    cluster.kubectl(
        "create", "secret", "generic", "ironflow-master-key", "-n", NAMESPACE,
        f"--from-literal=IRONFLOW_MASTER_KEY={key}",
    )  # fmt: skip
    begin = time.monotonic()
    helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--set", "image.pullPolicy=Never")
    wait_operator_ready(cluster)
    TIMINGS.append(f"helm install -> 2 operator pods Ready in {time.monotonic() - begin:.1f}s")
    try:
        yield helm
    finally:
        helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
        cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false")


@pytest.fixture
def environment(cluster: Cluster, k8s_api: client.ApiClient, namespace: str) -> str:
    eventually(
        lambda: client.CoreV1Api(k8s_api).list_namespaced_service_account(namespace).items,
        timeout=60,
        what="the default ServiceAccount",
    )
    return namespace


def test_given_chart_installed_when_user_sets_a_secret_then_application_pod_prints_exactly_it(
    cluster: Cluster, k8s_api: client.ApiClient, installed: Helm, environment: str, node: Node
) -> None:
    # the operator runs as the chart's ServiceAccount, through the kubernetes Service
    pods = operator_pods(cluster)
    assert {p["spec"]["serviceAccountName"] for p in pods} == {DEPLOYMENT}
    holder = eventually(lambda: lease_holder(cluster) or None, timeout=60, what="a Lease holder")
    assert holder.split("_", 1)[0] in {p["metadata"]["name"] for p in pods}

    ironflow(cluster, "secret", "set", "DB_PASSWORD", "--env", environment, "-", input=CANARY)
    eventually(
        lambda: "DB_PASSWORD" in _projected(k8s_api, environment),
        timeout=90,
        what="the projected Secret app holding DB_PASSWORD",
    )
    report = run(cluster, k8s_api, environment, pod("app", {"ironflow.io/secrets": "DB_PASSWORD"}))

    assert report.env.get("DB_PASSWORD") == CANARY
    assert cluster.audit is not None
    events = list(cluster.audit.events(user=SERVICE_ACCOUNT_USER))
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
