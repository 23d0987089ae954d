"""The operator with its pod webhook, as the API server sees it in `make run`, plus test helpers.

The operator runs as a real subprocess under its own ServiceAccount (operator_fixtures), with
RBAC for exactly what the webhook and rollouts add: reading workloads and patching them, and
registering the webhook configuration. The API server reaches the webhook through the URL client
config on loopback with the operator's own CA, and proves who it is with its webhook client
certificate (ironflow_testbed/webhook_client.py): the operator requires it (mutual TLS). Readiness is
proven the honest way: a server-side dry run of a declaring pod comes back injected (the API
server's webhook cache has it).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import Operator, OperatorProcess, bind_cluster_role

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.ports import free_ports
from ironflow_testbed.webhook_client import WEBHOOK_CLIENT_USER

GROUP, VERSION = "ironflow.io", "v1alpha1"
WEBHOOK_CLUSTER_ROLE = "ironflow-operator-webhook-test"
# Registration by URL is a dev/test feature: the installed RBAC leaves it to the chart.
WEBHOOK_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["admissionregistration.k8s.io"],
        "resources": ["mutatingwebhookconfigurations"],
        "verbs": ["get", "create", "update"],
    },
]


def wait_until_injecting(api: client.ApiClient, namespace: str, proc: OperatorProcess | None = None) -> None:
    """A dry-run declaring pod comes back with the injection record: the API server calls us."""
    core = client.CoreV1Api(api)

    def injected() -> bool:
        if proc is not None and proc.process.poll() is not None:
            raise AssertionError(f"webhook exited early:\n{proc.output()}")
        try:
            out = core.create_namespaced_pod(
                namespace, pod_manifest("probe", {"ironflow.io/configs": "PROBE?"}), dry_run="All"
            )
        except client.ApiException:
            return False
        return "ironflow.io/injected" in (out.metadata.annotations or {})

    eventually(injected, timeout=60, what="the API server to call the pod webhook")


def wait_for_default_service_account(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)

    def present() -> bool:
        try:
            core.read_namespaced_service_account("default", namespace)
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    eventually(present, timeout=60, what=f"default service account in {namespace}")


def pod_manifest(
    name: str,
    annotations: dict[str, str],
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": containers or [{"name": "app", "image": "registry.invalid/app:1"}],
        "automountServiceAccountToken": False,
    }
    if init:
        spec["initContainers"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": spec,
    }


def deployment(
    name: str,
    template_annotations: dict[str, str],
    *,
    spec: dict[str, Any] | None = None,
    replicas: int = 1,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """The one Deployment the tests build: pods labelled app=NAME, the template annotated with what
    they declare, `spec` as their pod spec (default: pod_manifest's, an image never pulled)."""
    metadata: dict[str, Any] = {"name": name}
    for key, value in (("namespace", namespace), ("labels", labels), ("annotations", annotations)):
        if value is not None:
            metadata[key] = value
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": template_annotations},
                "spec": pod_manifest(name, {})["spec"] if spec is None else spec,
            },
        },
    }


def create_resource(
    api: client.ApiClient, namespace: str, kind: str, name: str, names: dict[str, Any]
) -> None:
    plural, field = (
        ("ironflowsecrets", "sealed") if kind == "IronflowSecret" else ("ironflowconfigs", "values")
    )
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {field: names},
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)


def wait_projected(api: client.ApiClient, namespace: str, kind: str, name: str, timeout: float = 60) -> None:
    """Until the operator reports the resource's current generation Ready: the webhook injects a
    name only once it is projected, so a pod created before that would be refused."""
    plural = "ironflowsecrets" if kind == "IronflowSecret" else "ironflowconfigs"
    custom = client.CustomObjectsApi(api)

    def projected() -> bool:
        cr = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        status = cr.get("status") or {}
        return status.get("observedGeneration") == cr["metadata"]["generation"] and any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
        )

    eventually(projected, timeout=timeout, what=f"{kind} {namespace}/{name} projected")


def assert_fail_closed(api: client.ApiClient, namespace: str, declaring: dict[str, Any]) -> None:
    """No operator serves the webhook: a plain pod is created, the declaring pod is refused."""
    core = client.CoreV1Api(api)
    plain = core.create_namespaced_pod(namespace, pod_manifest(unique("plain"), {"team": "payments"}))
    assert plain.metadata.name.startswith("plain-")
    try:
        core.create_namespaced_pod(namespace, declaring)
    except client.ApiException as refused:
        message = json.loads(refused.body)["message"]
        assert 'failed calling webhook "declarations.pods.ironflow.io"' in message, message
    else:
        raise AssertionError("a declaring pod was admitted while no operator served the webhook")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def webhook_cluster_role(k8s_api: client.ApiClient, crds: list[str]) -> str:
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": WEBHOOK_CLUSTER_ROLE},
        "rules": WEBHOOK_RULES,
    }
    try:
        client.RbacAuthorizationV1Api(k8s_api).create_cluster_role(body)
    except client.ApiException as error:
        if error.status != 409:
            raise
    return WEBHOOK_CLUSTER_ROLE


def client_auth_flags(cluster: Cluster) -> list[str]:
    """Mutual TLS with the session's API server; none against a cluster named with --kubeconfig,
    whose API server may present no webhook client certificate."""
    if cluster.plane is None:
        return []
    ca = cluster.plane.layout.cert("ca")
    return [f"--webhook-client-ca={ca}", f"--webhook-client-name={WEBHOOK_CLIENT_USER}"]


def webhook_flags(op: Operator, workdir: Path) -> tuple[str, list[str]]:
    """The webhook of `op`'s next run: a free loopback URL and a certificate directory of its own."""
    url = f"https://127.0.0.1:{free_ports(1)[0]}"
    return url, [f"--webhook-url={url}", f"--webhook-cert-dir={workdir / f'certs-{len(op.runs)}'}"]


def start_with_webhook(op: Operator, workdir: Path) -> OperatorProcess:
    """With --dev-mode: these tests write `dev:` values without a master key (development mode is
    explicit: without the flag a missing key is NoMasterKey; a test that sets a key is keyed all the same)."""
    _, flags = webhook_flags(op, workdir)
    return op.start(*flags, "--dev-mode", *client_auth_flags(op.cluster))


@pytest.fixture
def pod_webhook(
    operator: Operator, k8s_api: client.ApiClient, namespace: str, webhook_cluster_role: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """The operator serving the test's namespace, its webhook registered and called by the API server."""
    with serving_webhook(operator, k8s_api, namespace, webhook_cluster_role, tmp_path) as run:
        yield run


@contextlib.contextmanager
def serving_webhook(
    operator: Operator, k8s_api: client.ApiClient, namespace: str, webhook_cluster_role: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """pod_webhook for tests that set the operator up first (its namespaces, its master key)."""
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    binding = bind_cluster_role(k8s_api, webhook_cluster_role, operator.user, "ironflow-webhook-test")
    try:
        run = start_with_webhook(operator, tmp_path)
        wait_for_default_service_account(k8s_api, namespace)
        wait_until_injecting(k8s_api, namespace, run)
        yield run
    finally:
        operator.stop()
        rbac.delete_cluster_role_binding(binding)
