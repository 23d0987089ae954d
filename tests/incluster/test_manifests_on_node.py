"""`kubectl apply -f manifests/ -R` on the node: the same install as the chart's defaults, as is.

manifests/ is `helm template` of the chart's defaults (hack/gen-manifests.py), image pull policy
`IfNotPresent` included, so with the image imported into the node's containerd it installs with
no change at all: namespace (restricted Pod Security), CRDs, RBAC, the Deployment's two replicas,
self-managed webhook certificates. The chart's module and this one each remove their install,
operator namespace included, before the other can start, so either may run first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from incluster_support import (
    NAMESPACE,
    ROOT,
    TIMINGS,
    exists,
    import_image,
    ironflow,
    reported_ready,
    wait_operator_ready,
)
from kubernetes import client
from node_support import pod, run

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

MANIFESTS = ROOT / "manifests"
CANARY = "canary-manifests-71c4"
CLI_HOME = "cli-manifests"


def _top_level(directory: Path) -> list[str]:
    """What docs/install.md deletes on uninstall: every top-level file but the Namespace (no crds/)."""
    return [arg for f in sorted(directory.glob("*.yaml")) if f.name != "00-namespace.yaml"
            for arg in ("-f", str(f))]  # fmt: skip


@pytest.fixture(scope="module")
def applied(cluster: Cluster, node: Node) -> Iterator[None]:
    import_image(node)
    begin = time.monotonic()
    cluster.kubectl("apply", "-f", str(MANIFESTS), "-R")
    key = ironflow(cluster, "keygen", user=CLI_HOME).strip()
    cluster.kubectl(
        "create", "secret", "generic", "ironflow-master-key", "-n", NAMESPACE,
        f"--from-literal=IRONFLOW_MASTER_KEY={key}",
    )  # fmt: skip
    wait_operator_ready(cluster)
    TIMINGS.append(
        f"kubectl apply -f manifests/ -R -> 2 operator pods Ready in {time.monotonic() - begin:.1f}s"
    )
    try:
        yield
    finally:
        cluster.kubectl("delete", "--ignore-not-found", *_top_level(MANIFESTS))
        cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=180s")


def test_given_manifests_applied_when_user_sets_a_secret_then_application_pod_prints_exactly_it(
    cluster: Cluster, k8s_api: client.ApiClient, applied: None, namespace: str
) -> None:
    eventually(
        lambda: client.CoreV1Api(k8s_api).list_namespaced_service_account(namespace).items,
        timeout=60,
        what="the default ServiceAccount",
    )
    ironflow(cluster, "secret", "set", "DB_PASSWORD", "--env", namespace, "-", input=CANARY, user=CLI_HOME)
    eventually(
        lambda: exists(cluster, "secret", "app", "-n", namespace), timeout=90, what="the projected Secret app"
    )
    eventually(lambda: reported_ready(cluster, namespace), timeout=60, what="IronflowSecret app Ready")
    report = run(cluster, k8s_api, namespace, pod("app", {"ironflow.io/secrets": "DB_PASSWORD"}))
    assert report.env.get("DB_PASSWORD") == CANARY
    deleted = cluster.kubectl("delete", *_top_level(MANIFESTS)).stdout
    assert "mutatingwebhookconfiguration.admissionregistration.k8s.io" in deleted
    assert not exists(cluster, "deployment", "ironflow-operator", "-n", NAMESPACE)
    assert exists(cluster, "crd", "ironflowsecrets.ironflow.io")  # crds/ was left out, as docs say
