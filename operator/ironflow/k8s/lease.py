"""Read and write the leader-election Lease (coordination.k8s.io/v1).

Writes are create (fails with 409 when someone else created it first) or a full update carrying
the resourceVersion the decision was made on (fails with 409 when anyone wrote in between), never
a blind patch: of two candidates racing for a free Lease, exactly one write succeeds. The
operator's calls bypass its own leader gate (controller/leadership.py): the Lease is the one
object a standby writes. The member Leases of sharding (core/shares.py) follow the same rules,
and a clean stop deletes its own only as last written (precondition on resourceVersion). The
CLI's synchronous read is in k8s/sync_operator.py, so that this module (imported by the
operator) stays clear of the sync client's library.
"""

from __future__ import annotations

from typing import Any, Final

from ironflow.core.lease import SHARDING_ANNOTATION, HolderPod, LeaseRecord, parse_lease
from ironflow.core.lease import holder_pod_gone as pod_gone
from ironflow.core.shares import Member, member_labels, member_selector, parse_member
from ironflow.k8s.async_client import ApiError, Kube, group_path
from ironflow.k8s.paths import core_path

COORDINATION: Final = "coordination.k8s.io/v1"


class LostRace(Exception):
    """Another candidate wrote the Lease between our read and our write (409)."""


def _body(namespace: str, name: str, record: LeaseRecord) -> dict[str, Any]:
    annotations = record.holder_pod.annotations() if record.holder_pod else {}
    if record.sharding:
        annotations[SHARDING_ANNOTATION] = "true"
    metadata: dict[str, Any] = {"name": name, "namespace": namespace,
                                "labels": {"app.kubernetes.io/managed-by": "ironflow-operator"},
                                "annotations": annotations}
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


async def _create_or_update(kube: Kube, namespace: str, name: str, body: dict[str, Any],
                            resource_version: str | None) -> dict[str, Any]:
    """Create (no resourceVersion: the Lease did not exist) or update guarded by resourceVersion,
    never a blind write; LostRace when anyone wrote in between (409). Unguarded: see the module."""
    try:
        if resource_version is None:
            return await kube.request("POST", group_path(COORDINATION, "leases", namespace),
                                      body=body, guarded=False)
        return await kube.request("PUT", group_path(COORDINATION, "leases", namespace, name),
                                  body=body, guarded=False)
    except ApiError as exc:
        if exc.status == 409:
            raise LostRace(str(exc)) from None
        raise


async def write_lease(kube: Kube, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
    """The leader Lease, created or updated (`_create_or_update`)."""
    written = await _create_or_update(kube, namespace, name, _body(namespace, name, record),
                                      record.resource_version)
    parsed = parse_lease(written)
    assert parsed is not None
    return parsed


def _member_body(namespace: str, lease_name: str, member: Member,
                 owner_pod: HolderPod | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": member.name, "namespace": namespace,
                                "labels": member_labels(lease_name), "annotations": member.annotations()}
    if member.lease.resource_version:
        metadata["resourceVersion"] = member.lease.resource_version
    if owner_pod is not None and owner_pod.uid and owner_pod.namespace == namespace:
        # A deleted pod's member Lease goes with it (garbage collection), not after a lease duration.
        metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod", "name": owner_pod.name,
                                        "uid": owner_pod.uid}]
    return {"apiVersion": COORDINATION, "kind": "Lease", "metadata": metadata, "spec": member.lease.spec()}


async def list_members(kube: Kube, namespace: str, lease_name: str) -> list[Member]:
    """Every member Lease of `lease_name` (one list: a consistent read, all pages)."""
    members: list[Member] = []
    query = {"labelSelector": member_selector(lease_name), "limit": "500"}
    while True:
        page = await kube.request("GET", group_path(COORDINATION, "leases", namespace), query=query)
        members.extend(m for m in map(parse_member, page.get("items") or []) if m is not None)
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return members
        query = {**query, "continue": str(token)}


async def write_member(kube: Kube, namespace: str, lease_name: str, member: Member,
                       owner_pod: HolderPod | None = None) -> Member:
    """This replica's member Lease, created or updated (`_create_or_update`)."""
    written = await _create_or_update(kube, namespace, member.name,
                                      _member_body(namespace, lease_name, member, owner_pod),
                                      member.lease.resource_version)
    parsed = parse_member(written)
    assert parsed is not None
    return parsed


async def get_member(kube: Kube, namespace: str, name: str) -> Member | None:
    found = await kube.get(group_path(COORDINATION, "leases", namespace, name))
    return None if found is None else parse_member(found)


async def delete_member(kube: Kube, namespace: str, member: Member) -> None:
    """Delete our own member Lease, only as we last wrote it (precondition on resourceVersion)."""
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions",
                            "preconditions": {"resourceVersion": member.lease.resource_version}}
    try:
        await kube.request("DELETE", group_path(COORDINATION, "leases", namespace, member.name),
                           body=body, guarded=False)
    except ApiError as exc:
        if exc.status == 404:
            return
        if exc.status == 409:
            raise LostRace(str(exc)) from None
        raise
