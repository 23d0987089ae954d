"""The operator's own objects as the CLI reads them, to tell whether an operator is alive.

Three reads, in the order `ironflow status` asks them: the leader Lease, the operator's
Deployment and its pods, and a pod's `/readyz` through the API server's pod proxy; and a fourth
for its replicas table, the member Leases of a sharded operator. They live
here, beside the other requests, so that the CLI judges answers and never builds a path. The
Lease read is the synchronous twin of k8s/lease.py's, kept apart so that the operator, which
imports that module, never loads the sync client's library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ironflow.core.lease import LeaseRecord, parse_lease
from ironflow.core.members import member_selector
from ironflow.k8s.lease import COORDINATION
from ironflow.k8s.paths import core_path, group_path, segment
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_errors import NotFound


def read_lease(client: SyncClient, namespace: str, name: str) -> LeaseRecord | None:
    """None when there is no such Lease; Forbidden when the user may not read it."""
    try:
        return parse_lease(client.request("GET", group_path(COORDINATION, "leases", namespace, name)))
    except NotFound:
        return None


def member_leases(client: SyncClient, namespace: str, lease_name: str) -> list[dict[str, Any]]:
    """The member Leases of the replicas sharing out the work of leader Lease `lease_name`, as
    stored; Forbidden when the user may not list Leases there."""
    listing = client.request("GET", group_path(COORDINATION, "leases", namespace),
                             query=[("labelSelector", member_selector(lease_name))])
    return [lease for lease in listing.get("items") or [] if isinstance(lease, dict)]


def deployment_pods(client: SyncClient, namespace: str, deployment: str) -> list[dict[str, Any]] | None:
    """The pods labelled `app.kubernetes.io/name=DEPLOYMENT`, or None when there is no such
    Deployment; Forbidden when the user may not read it or them."""
    try:
        client.request("GET", group_path("apps/v1", "deployments", namespace, deployment))
        listing = client.request(
            "GET", core_path("pods", namespace),
            query=[("labelSelector", f"app.kubernetes.io/name={deployment}")],
        )
    except NotFound:
        return None
    return [pod for pod in listing.get("items") or [] if isinstance(pod, dict)]


@dataclass(frozen=True)
class ProxiedAnswer:
    """A pod endpoint's answer through the proxy: status 0 when nothing came back at all."""

    status: int
    body: bytes

    @property
    def by_api_server(self) -> bool:
        """The API server's own Status (proxy refused, not allowed), not the pod's answer."""
        try:
            doc = json.loads(self.body)
        except ValueError:
            return False
        return isinstance(doc, dict) and doc.get("kind") == "Status"


def pod_readyz(client: SyncClient, namespace: str, pod: str, port: int) -> ProxiedAnswer:
    """GET http://POD:PORT/readyz through the API server, whatever it answers; never raises."""
    path = f"{core_path('pods', namespace)}/http:{segment(pod)}:{int(port)}/proxy/readyz"
    try:
        status, body = client.get_raw(path)
    except Exception:  # any failure (unreachable, refused, garbage) is "no answer": the caller falls back
        return ProxiedAnswer(0, b"")
    return ProxiedAnswer(status, body)
