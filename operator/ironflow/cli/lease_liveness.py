"""The leader-election Lease as `ironflow status`'s first liveness probe.

Every operator replica competes for the Lease and the leader renews it every few seconds, so a
Lease renewed within its duration means an operator is alive and writing; a stale or released
Lease means nobody reconciles (declaring pods may still be admitted by a standby, but no value
changes reach them). Reading the Lease may be forbidden to a user who can only see their
environment: that is "unknown", and the next probe is asked.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from ironflow.core.lease import DEFAULT_LEASE_NAME, LeaseRecord, Liveness, liveness, parse_lease
from ironflow.k8s.lease import COORDINATION
from ironflow.k8s.paths import group_path
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_errors import Forbidden, NotFound


def read_lease_sync(client: SyncClient, namespace: str, name: str) -> LeaseRecord | None:
    """None when there is no such Lease."""
    try:
        return parse_lease(client.request("GET", group_path(COORDINATION, "leases", namespace, name)))
    except NotFound:
        return None


def operator_liveness(
    client: SyncClient,
    operator_namespace: str,
    lease_name: str = DEFAULT_LEASE_NAME,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> Liveness:
    try:
        record = read_lease_sync(client, operator_namespace, lease_name)
    except Forbidden:
        return Liveness("unknown", None, None, None, None)
    return liveness(record, now())
