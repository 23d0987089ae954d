"""Workload objects (apps/v1) as the CLI lists them: what `status` and `promote` read.

`status` reads ReplicaSets because that is where the ReplicaSet controller records a pod the
webhook refused; `promote` reads Deployments, StatefulSets and DaemonSets for the names their pod
templates declare. Both only list, with the user's own identity.
"""

from __future__ import annotations

from typing import Any, Final

from ironflow.k8s.paths import group_path
from ironflow.k8s.sync_client import SyncClient

APPS: Final = "apps/v1"


def list_workloads(client: SyncClient, plural: str, namespace: str | None) -> list[dict[str, Any]]:
    """Every apps/v1 object of this plural (`replicasets`, `deployments`, ...) in one namespace, or
    in all of them when namespace is None."""
    listing = client.request("GET", group_path(APPS, plural, namespace))
    return [item for item in listing.get("items") or [] if isinstance(item, dict)]
