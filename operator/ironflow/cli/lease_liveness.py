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

from ironflow.core.lease import DEFAULT_LEASE_NAME, Liveness, liveness
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_errors import Forbidden
from ironflow.k8s.sync_operator import read_lease


def operator_liveness(
    client: SyncClient,
    operator_namespace: str,
    lease_name: str = DEFAULT_LEASE_NAME,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> Liveness:
    try:
        record = read_lease(client, operator_namespace, lease_name)
    except Forbidden:
        return Liveness("unknown", None, None, None, None)
    return liveness(record, now())
