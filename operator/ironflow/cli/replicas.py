"""`ironflow status`'s replicas section: who shares out the served namespaces, and who leads.

Read from the member Leases alone (core/members.py says what they hold): a replica that is up
but has not renewed within its Lease duration no longer owns anything, whatever its process
does, so the Lease is the truth to show. Informational only: an expired member Lease is a replica
the others have already stopped counting, and whether any operator is alive at all is the
operator line's question. A user who may not list Leases in the operator namespace gets
"unknown", not an error, as for the leader Lease.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from ironflow.cli.lease_liveness import operator_liveness
from ironflow.cli.output import table
from ironflow.core.members import pods_differ, replica_cells, replica_headers, replica_rows, replicas_summary
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_errors import Forbidden
from ironflow.k8s.sync_operator import member_leases


def replicas(
    client: SyncClient,
    operator_namespace: str,
    lease_name: str,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> dict[str, Any]:
    """The section as plain data: `state` "listed" or "unknown" (not allowed to list Leases)."""
    try:
        leases = member_leases(client, operator_namespace, lease_name)
    except Forbidden:
        return {"state": "unknown", "leaseName": lease_name, "members": [],
                "note": f"not allowed to list Leases in {operator_namespace}: replicas not shown"}
    leader = operator_liveness(client, operator_namespace, lease_name, now)
    return {"state": "listed", "leaseName": lease_name, "members": replica_rows(leases, leader, now()),
            "note": None}


def replicas_human(section: dict[str, Any], wide: bool) -> str:
    if section["state"] != "listed":
        return f"replicas: unknown ({section['note']})"
    rows = section["members"]
    lines = [replicas_summary(rows)]
    if rows:
        live, with_pod = sum(1 for r in rows if r["state"] == "live"), pods_differ(rows)
        lines.append(table(replica_headers(with_pod), [replica_cells(r, live, wide, with_pod) for r in rows]))
    return "\n".join(lines)
