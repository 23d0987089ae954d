"""Read and write the leader-election Lease (coordination.k8s.io/v1).

Writes are create (fails with 409 when someone else created it first) or a full update carrying
the resourceVersion the decision was made on (fails with 409 when anyone wrote in between), never
a blind patch: of two candidates racing for a free Lease, exactly one write succeeds. The
operator's calls bypass its own leader gate (controller/leadership.py): the Lease is the one
object a standby writes. The CLI's synchronous read is in k8s/sync_operator.py, so that this
module (imported by the operator) stays clear of the sync client's library.
"""

from __future__ import annotations

from typing import Any, Final

from ironflow.core.lease import HolderPod, LeaseRecord, parse_lease
from ironflow.core.lease import holder_pod_gone as pod_gone
from ironflow.k8s.async_client import ApiError, Kube, group_path
from ironflow.k8s.paths import core_path

COORDINATION: Final = "coordination.k8s.io/v1"


class LostRace(Exception):
    """Another candidate wrote the Lease between our read and our write (409)."""


def _body(namespace: str, name: str, record: LeaseRecord) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace,
                                "labels": {"app.kubernetes.io/managed-by": "ironflow-operator"},
                                "annotations": record.holder_pod.annotations() if record.holder_pod else {}}
    if record.resource_version:
        metadata["resourceVersion"] = record.resource_version
    return {"apiVersion": COORDINATION, "kind": "Lease", "metadata": metadata, "spec": record.spec()}


async def get_lease(kube: Kube, namespace: str, name: str) -> LeaseRecord | None:
    return parse_lease(await kube.get(group_path(COORDINATION, "leases", namespace, name)))


async def holder_pod_gone(kube: Kube, pod: HolderPod) -> bool | None:
    """Whether the pod a Lease names is gone (404, or another pod of that name); None: cannot tell."""
    try:
        found = await kube.get(core_path("pods", pod.namespace, pod.name))
    except ApiError as exc:
        if exc.status in (401, 403):
            return None  # not allowed to look (an older chart's RBAC): assume it lives
        raise
    return pod_gone(pod, found)


async def write_lease(kube: Kube, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
    """Create (no resourceVersion: the Lease did not exist) or update guarded by resourceVersion."""
    try:
        if record.resource_version is None:
            written = await kube.request("POST", group_path(COORDINATION, "leases", namespace),
                                         body=_body(namespace, name, record), guarded=False)
        else:
            written = await kube.request("PUT", group_path(COORDINATION, "leases", namespace, name),
                                         body=_body(namespace, name, record), guarded=False)
    except ApiError as exc:
        if exc.status == 409:
            raise LostRace(str(exc)) from None
        raise
    parsed = parse_lease(written)
    assert parsed is not None
    return parsed
