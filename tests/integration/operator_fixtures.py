"""`ironflow-operator` as a real subprocess against the session's API server, plus test helpers.

The operator runs as its own ServiceAccount, bound to a ClusterRole with only what it needs, so
RBAC is exercised and the audit log can tell its requests from the test's. Its logs go to a file
at DEBUG for the canary scan. Waiting is always on a condition with a timeout.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_launch import OperatorProcess, launch

from ironflow.core.crypto import derive_sealing_key, seal
from ironflow.core.keyring import generate_master_key
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.ports import free_ports

GROUP, VERSION = "ironflow.io", "v1alpha1"
PLURAL = {"IronflowSecret": "ironflowsecrets", "IronflowConfig": "ironflowconfigs"}
CLUSTER_ROLE = "ironflow-operator-test"
RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [GROUP],
        "resources": ["ironflowsecrets", "ironflowconfigs"],
        "verbs": ["get", "list", "watch"],
    },
    # `ironflow secret reseal`, as installed: write re-sealed values, delete leftover temporaries.
    {"apiGroups": [GROUP], "resources": ["ironflowsecrets"], "verbs": ["patch", "delete"]},
    {
        "apiGroups": [GROUP],
        "resources": ["ironflowsecrets/status", "ironflowconfigs/status"],
        "verbs": ["get", "patch", "update"],
    },
    {
        "apiGroups": [""],
        "resources": ["secrets", "configmaps"],
        "verbs": ["get", "list", "watch", "create", "patch", "update"],
    },
    # Withdrawing the sealing key from namespaces no longer served, as installed: by name only.
    {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["ironflow-sealing-key"],
     "verbs": ["delete"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
    # Targeted rollouts run in every operator, as installed (manifests/, the chart).
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets", "daemonsets"],
        "verbs": ["get", "list", "watch", "patch"],
    },
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    },
    # Leader election and the member Leases of --sharding, as installed (the chart's Role in the
    # operator namespace): members are listed by label and a clean stop deletes its own.
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
     "verbs": ["get", "list", "create", "update", "delete"]},
]


def _ignore_conflict(call: Callable[[], Any]) -> None:
    try:
        call()
    except client.ApiException as error:
        if error.status != 409:
            raise


@pytest.fixture(scope="session")
def operator_cluster_role(k8s_api: client.ApiClient, crds: list[str]) -> str:
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": CLUSTER_ROLE},
        "rules": RULES,
    }
    _ignore_conflict(lambda: rbac.create_cluster_role(body))
    return CLUSTER_ROLE


def bind_cluster_role(api: client.ApiClient, role: str, user: str, prefix: str) -> str:
    """Binds ClusterRole `role` to the ServiceAccount `user` (system:serviceaccount:NS:NAME); the
    binding's name (`prefix` and a random suffix), for the caller to delete."""
    account_namespace, account = user.split(":")[2:4]
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    client.RbacAuthorizationV1Api(api).create_cluster_role_binding(
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
        }
    )
    return name


@dataclass
class Operator:
    """One test's operator: its own namespace for the master key, its own identity, its logs."""

    cluster: Cluster
    api: client.ApiClient
    namespaces: list[str]
    operator_namespace: str
    workdir: Path
    user: str = ""
    kubeconfig: Path | None = None
    runs: list[OperatorProcess] = field(default_factory=list)

    @property
    def current(self) -> OperatorProcess:
        return self.runs[-1]

    def start(self, *extra: str, wait: bool = True) -> OperatorProcess:
        health, metrics = free_ports(2)
        log = self.workdir / f"operator-{len(self.runs)}.log"
        argv = [
            f"--kubeconfig={self.kubeconfig}",
            f"--operator-namespace={self.operator_namespace}",
            f"--health-port={health}",
            f"--metrics-port={metrics}",
            "--bind-address=127.0.0.1",
            "--log-level=debug",
            *[f"--namespace={ns}" for ns in self.namespaces],
            *extra,
        ]
        run = launch(argv, log, health, metrics)
        self.runs.append(run)
        if wait:
            run.wait_ready()
        return run

    def stop(self) -> None:
        for run in self.runs:
            run.stop()

    def logs(self) -> str:
        return "\n".join(run.output() for run in self.runs)

    # -- the master key ---------------------------------------------------------------------
    def set_master_key(self, current: str | None, previous: str | None = None) -> None:
        core = client.CoreV1Api(self.api)
        data = {}
        if current is not None:
            data["IRONFLOW_MASTER_KEY"] = current
        if previous is not None:
            data["IRONFLOW_PREVIOUS_KEYS"] = previous
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "ironflow-master-key", "namespace": self.operator_namespace},
            "stringData": data,
        }
        try:
            core.create_namespaced_secret(self.operator_namespace, body)
        except client.ApiException as error:
            if error.status != 409:
                raise
            core.replace_namespaced_secret("ironflow-master-key", self.operator_namespace, body)

    def delete_master_key(self) -> None:
        client.CoreV1Api(self.api).delete_namespaced_secret("ironflow-master-key", self.operator_namespace)


LOG_TAIL = 120


@pytest.fixture
def operator(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, operator_cluster_role: str, tmp_path: Path
) -> Iterator[Operator]:
    core = client.CoreV1Api(k8s_api)
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    op_ns = f"{namespace[:52]}-op"
    core.create_namespace({"metadata": {"name": op_ns, "labels": {"ironflow.io/test": "true"}}})
    name = "ironflow-operator"
    kubeconfig = cluster.service_account_kubeconfig(k8s_api, op_ns, name, tmp_path / "operator.kubeconfig")
    op = Operator(
        cluster,
        k8s_api,
        [namespace],
        op_ns,
        tmp_path,
        user=f"system:serviceaccount:{op_ns}:{name}",
        kubeconfig=kubeconfig,
    )
    binding = bind_cluster_role(k8s_api, operator_cluster_role, op.user, "ironflow-operator")
    try:
        yield op
    finally:
        op.stop()
        # pytest shows a teardown's output only when the test failed: the operator's side of it,
        # without kopf's own DEBUG chatter
        lines = [line for line in op.logs().splitlines() if " DEBUG   kopf." not in line]
        print(f"--- operator log without kopf DEBUG, last {LOG_TAIL} lines ---", *lines[-LOG_TAIL:], sep="\n")
        rbac.delete_cluster_role_binding(binding)
        core.delete_namespace(op_ns, propagation_policy="Background")


# -- helpers for the tests ----------------------------------------------------------------------
def new_key() -> str:
    return generate_master_key()


def sealed(key_hex: str, namespace: str, name: str, value: str) -> str:
    return seal(derive_sealing_key(bytes.fromhex(key_hex)).public, namespace, name, value.encode())


def apply_cr(api: client.ApiClient, kind: str, namespace: str, name: str, entries: dict[str, Any]) -> None:
    custom = client.CustomObjectsApi(api)
    field_name = "sealed" if kind == "IronflowSecret" else "values"
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {field_name: entries},
    }
    # The operator writes status concurrently, so a replace can lose the resourceVersion race (409):
    # read again and retry, like any client doing optimistic concurrency.
    for _attempt in range(10):
        try:
            current = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[kind], name)
        except client.ApiException as error:
            if error.status != 404:
                raise
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[kind], body)
            return
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        try:
            custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[kind], name, body)
            return
        except client.ApiException as error:
            if error.status != 409:
                raise
    raise AssertionError(f"{kind} {namespace}/{name}: 10 conflicting writes in a row")


def get_cr(api: client.ApiClient, kind: str, namespace: str, name: str) -> dict[str, Any]:
    return dict(
        client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL[kind], name
        )
    )


def delete_cr(api: client.ApiClient, kind: str, namespace: str, name: str) -> None:
    client.CustomObjectsApi(api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL[kind], name
    )


def ready(cr: dict[str, Any]) -> dict[str, Any]:
    for condition in cr.get("status", {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


def wait_status(
    api: client.ApiClient,
    kind: str,
    namespace: str,
    name: str,
    check: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 30,
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        try:
            cr = get_cr(api, kind, namespace, name)
        except client.ApiException:
            return None
        status = cr.get("status") or {}
        if status.get("observedGeneration") != cr["metadata"].get("generation"):
            return None
        return cr if check(cr) else None

    return eventually(probe, timeout=timeout, what=f"{kind} {namespace}/{name}: {what}")


def wait_ready(
    api: client.ApiClient,
    kind: str,
    namespace: str,
    name: str,
    reason: str = "Projected",
    status: str | None = None,
    timeout: float = 30,
) -> dict[str, Any]:
    want = status or ("True" if reason in ("Projected", "DevMode") else "False")
    return wait_status(
        api,
        kind,
        namespace,
        name,
        lambda cr: ready(cr).get("reason") == reason and ready(cr).get("status") == want,
        f"Ready={want} ({reason})",
        timeout,
    )


def secret_data(api: client.ApiClient, namespace: str, name: str) -> dict[str, str] | None:
    try:
        secret = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def configmap_data(api: client.ApiClient, namespace: str, name: str) -> dict[str, str] | None:
    try:
        return dict(client.CoreV1Api(api).read_namespaced_config_map(name, namespace).data or {})
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


def events_for(api: client.ApiClient, namespace: str, name: str | None = None) -> list[client.CoreV1Event]:
    items = client.CoreV1Api(api).list_namespaced_event(namespace).items
    return [e for e in items if name is None or e.involved_object.name == name]


def wait_event(
    api: client.ApiClient, namespace: str, name: str, reason: str, contains: str = "", timeout: float = 30
) -> client.CoreV1Event:
    def probe() -> client.CoreV1Event | None:
        return next(
            (
                e
                for e in events_for(api, namespace, name)
                if e.reason == reason and contains in (e.message or "")
            ),
            None,
        )

    return eventually(
        probe, timeout=timeout, what=f"Event {reason} on {namespace}/{name} containing {contains!r}"
    )


def served_within(api: client.ApiClient, key: str, namespace: str, created: float, bound: float) -> float:
    """Seconds from `created` (time.monotonic) until `namespace` holds the current sealing key and
    its IronflowSecret `app` is Ready; at most `bound`. Waits longer before failing, so a failure
    says how late it was served."""
    kid = derive_sealing_key(bytes.fromhex(key)).kid

    def served() -> bool:
        published = (configmap_data(api, namespace, "ironflow-sealing-key") or {}).get("keyId") == kid
        cr = get_cr(api, "IronflowSecret", namespace, "app")
        return published and ready(cr).get("reason") == "Projected" and ready(cr).get("status") == "True"

    eventually(served, timeout=max(bound, 120.0), what=f"sealing key and Ready in {namespace}")
    elapsed = time.monotonic() - created
    print(f"namespace {namespace} served {elapsed:.2f}s after its creation")
    assert elapsed <= bound, f"{namespace} served {elapsed:.1f}s after its creation (bound {bound:.0f}s)"
    return elapsed
