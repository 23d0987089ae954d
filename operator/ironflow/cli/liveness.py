"""`ironflow status`'s "operator alive" line, read from the leader-election Lease.

Every operator replica competes for the Lease and the leader renews it every few seconds, so a
Lease renewed within its duration means an operator is alive and writing; a stale, released or
missing Lease means nobody reconciles (declaring pods may still be admitted by a standby, but no
value changes reach them). Reading the Lease may be forbidden to a user who can only see their
environment: that is "unknown", reported but not counted as a failure.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from ironflow.core.lease import DEFAULT_LEASE_NAME, Liveness, format_microtime, liveness
from ironflow.k8s.lease import read_lease_sync
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_errors import Forbidden

DEFAULT_OPERATOR_NAMESPACE = "ironflow-system"


def operator_liveness(
    client: SyncClient,
    operator_namespace: str = DEFAULT_OPERATOR_NAMESPACE,
    lease_name: str = DEFAULT_LEASE_NAME,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> Liveness:
    try:
        record = read_lease_sync(client, operator_namespace, lease_name)
    except Forbidden:
        return Liveness("unknown", None, None, None, None)
    return liveness(record, now())


def liveness_row(
    result: Liveness, operator_namespace: str, lease_name: str = DEFAULT_LEASE_NAME
) -> dict[str, Any]:
    """The JSON/YAML shape of the line (`ironflow status -o json` → "operator")."""
    return {
        "alive": result.alive,
        "state": result.state,
        "lease": f"{operator_namespace}/{lease_name}",
        "holder": result.holder,
        "renewTime": format_microtime(result.renew_time) if result.renew_time else None,
        "ageSeconds": round(result.age_seconds, 1) if result.age_seconds is not None else None,
        "message": result.describe(),
    }


def liveness_line(row: dict[str, Any]) -> str:
    word = "alive" if row["alive"] else ("unknown" if row["state"] == "unknown" else "NOT alive")
    return f"operator {word} (Lease {row['lease']}): {row['message']}"
