"""The pod webhook as a real process the API server calls over TLS, plus helpers for its tests.

`python -m ironflow.webhook` runs the same server and registration code the operator runs
in-process; the API server reaches it through the URL client config on loopback, exactly as in
`make run`. Readiness is proven the honest way: a server-side dry-run of a declaring pod comes
back injected (the API server's webhook cache has picked the configuration up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from ironflow.envtest import eventually
from ironflow.envtest.cluster import Cluster
from ironflow.envtest.ports import free_ports

GROUP, VERSION = "ironflow.io", "v1alpha1"
OPERATOR_NAMESPACE = "ironflow-system"


@dataclass
class WebhookProcess:
    process: subprocess.Popen[bytes]
    log: Path
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_webhook_process(cluster: Cluster, workdir: Path) -> WebhookProcess:
    port = free_ports(1)[0]
    url = f"https://127.0.0.1:{port}"
    log = workdir / "webhook.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")}
    argv = [
        sys.executable,
        "-m",
        "ironflow.webhook",
        f"--kubeconfig={cluster.kubeconfig}",
        f"--cert-dir={workdir / 'certs'}",
        f"--port={port}",
        f"--url={url}",
        f"--operator-namespace={OPERATOR_NAMESPACE}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    return WebhookProcess(process, log, url)


def start_operator_process(cluster: Cluster, workdir: Path) -> WebhookProcess:
    """The real `ironflow-operator`, with its pod webhook registered by URL on loopback."""
    port = free_ports(1)[0]
    url = f"https://127.0.0.1:{port}"
    log = workdir / "operator.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_SERVICE_", "IRONFLOW_"))}
    env.update({"IRONFLOW_WEBHOOK_URL": url, "IRONFLOW_WEBHOOK_CERT_DIR": str(workdir / "certs")})
    executable = Path(sys.executable).with_name("ironflow-operator")
    argv = [
        str(executable),
        f"--kubeconfig={cluster.kubeconfig}",
        f"--operator-namespace={OPERATOR_NAMESPACE}",
        "--metrics-port=0",
        "--health-port=0",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    return WebhookProcess(process, log, url)


def ensure_namespace(api: client.ApiClient, name: str) -> None:
    try:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except client.ApiException as error:
        if error.status != 409:
            raise


def wait_until_injecting(api: client.ApiClient, namespace: str, proc: WebhookProcess | None = None) -> None:
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


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def running(
    cluster: Cluster, k8s_api: client.ApiClient, workdir: Path, operator: bool
) -> Iterator[WebhookProcess]:
    """Start the process, wait until the API server calls its webhook, stop it afterwards."""
    core = client.CoreV1Api(k8s_api)
    probe_ns = unique("webhook-probe")
    ensure_namespace(k8s_api, probe_ns)
    ensure_namespace(k8s_api, OPERATOR_NAMESPACE)
    proc = (start_operator_process if operator else start_webhook_process)(cluster, workdir)
    try:
        wait_for_default_service_account(k8s_api, probe_ns)
        wait_until_injecting(k8s_api, probe_ns, proc)
        yield proc
    finally:
        proc.stop()
        core.delete_namespace(probe_ns, propagation_policy="Background")


@pytest.fixture(scope="module")
def operator(
    cluster: Cluster, crds: list[str], k8s_api: client.ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebhookProcess]:
    """The whole operator (projection, rollouts, webhook) as a subprocess."""
    yield from running(cluster, k8s_api, tmp_path_factory.mktemp("operator"), operator=True)
