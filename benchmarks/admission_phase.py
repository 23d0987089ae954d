"""The benchmark's admission phase: what the pod webhook adds to creating a pod.

Pods are created through the API server, which calls the operator's webhook over TLS (URL mode
on loopback, as in `make run`) for every pod that declares names. The same number of plain pods
in a namespace without declarations (the webhook is not called for them: matchConditions) gives
the baseline; the ratio of the two rates is the webhook's cost, and the operator's own API
requests per declaring pod come from the audit log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client

from ironflow.envtest.audit import AuditLog

READS = ("get", "list")


def pod(name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
            "automountServiceAccountToken": False,
        },
    }


def measure(
    api: client.ApiClient,
    audit: AuditLog,
    user: str,
    namespaces: tuple[str, str],
    declared: dict[str, str],
    pods: int,
    parallel: Callable[[Iterable[Callable[[], Any]]], float],
    wait: Callable[[Callable[[], bool], float, str], float],
) -> dict[str, Any]:
    """`namespaces`: (served environment, plain namespace); the webhook must already be registered."""
    core = client.CoreV1Api(api)
    served, plain = namespaces
    for ns in namespaces:
        wait(lambda ns=ns: _has_default_account(core, ns), 60, f"default ServiceAccount in {ns}")

    def injected() -> bool:
        try:
            out = core.create_namespaced_pod(served, pod("probe", declared), dry_run="All")
        except client.ApiException:
            return False
        return "ironflow.io/injected" in (out.metadata.annotations or {})

    wait(injected, 60, "the API server to call the pod webhook")
    plain_time = parallel(
        lambda i=i: core.create_namespaced_pod(plain, pod(f"plain-{i}", {})) for i in range(pods)
    )
    before = _reads(audit, user, served)
    declaring_time = parallel(
        lambda i=i: core.create_namespaced_pod(served, pod(f"declaring-{i}", declared)) for i in range(pods)
    )
    last = f"declaring-{pods - 1}"
    audit.wait_for(verb="create", resource="pods", namespace=served, name=last, timeout=30)
    reads = _reads(audit, user, served) - before
    return {
        "pods": pods,
        "plain_rate": pods / plain_time,
        "declaring_rate": pods / declaring_time,
        "reads": reads,
    }


def _has_default_account(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespaced_service_account("default", namespace)
    except client.ApiException:
        return False
    return True


def _reads(audit: AuditLog, user: str, namespace: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for event in audit.events(user=user, namespace=namespace):
        if event.verb in READS:
            found[f"{event.verb} {event.resource}"] += 1
    return found
