"""API calls for targeted rollouts: list the workloads of an environment, patch one of them.

Only Deployments, StatefulSets and DaemonSets roll on a pod-template change; a merge patch
touches just the annotations the rollout logic computed, never anything the user owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ironflow.k8s.async_client import ApiError, Kube, group_path
from ironflow.k8s.events import create_event

APPS: Final = "apps/v1"
WORKLOAD_RESOURCES: Final = ("deployments", "statefulsets", "daemonsets")
KINDS: Final = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}


async def list_workloads(kube: Kube, namespace: str) -> list[tuple[str, dict[str, Any]]]:
    """(resource plural, object) for every workload in the namespace."""
    out: list[tuple[str, dict[str, Any]]] = []
    for resource in WORKLOAD_RESOURCES:
        listing = await kube.request("GET", group_path(APPS, resource, namespace))
        out.extend((resource, item) for item in listing.get("items") or [])
    return out


async def get_workload(kube: Kube, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The workload, or None when it was deleted."""
    return await kube.get(group_path(APPS, resource, namespace, name))


async def patch_workload(
    kube: Kube, resource: str, namespace: str, name: str, patch: Mapping[str, Any], resource_version: str
) -> bool:
    """Merge-patch guarded by resourceVersion; False when the object changed or vanished meanwhile.

    The guard matters: the recorded baseline must describe the template it was computed from, so a
    concurrent edit makes us recompute from the fresh object rather than overwrite blindly.
    """
    body = {**patch, "metadata": {**(patch.get("metadata") or {}), "resourceVersion": resource_version}}
    try:
        await kube.merge_patch(group_path(APPS, resource, namespace, name), body)
    except ApiError as exc:
        if exc.status in (404, 409):
            return False
        raise
    return True


async def post_event(
    kube: Kube, resource: str, workload: Mapping[str, Any], reason: str, message: str
) -> None:
    """A Normal Event on the workload itself, where `kubectl describe` and dashboards show it.

    The caller builds `message` from names only; API errors propagate for the caller to log."""
    meta = workload.get("metadata") or {}
    involved = {"apiVersion": APPS, "kind": KINDS[resource], "name": meta.get("name"),
                "namespace": str(meta.get("namespace")), "uid": meta.get("uid")}
    await create_event(kube, involved, "Normal", reason, message)
