"""A rolling upgrade from a release without sharding: the old leader writes every namespace, so
the new sharded replicas write none while it lives, then serve everything once it is gone.

Proven from the API server's audit log by the replica id each request carries in its User-Agent.
The "old release" is a replica run without --sharding: it leads as every earlier version did and
writes no sharding annotation into the leader Lease.
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from operator_fixtures import new_key, wait_ready
from shares_fixtures import (
    LEASE_DURATION,
    TIMINGS,
    Shared,
    apply_everywhere,
    create_namespaces,
    namespace_writes,
    overlapping,
    projected,
    replica_of,
    start_all,
    writers,
)

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures", "shares_fixtures"]
SECRET, CONFIG = "IronflowSecret", "IronflowConfig"


def test_given_a_leader_without_sharding_when_sharded_replicas_start_then_they_write_nothing_until_it_stops(
    shared: Shared, k8s_api: client.ApiClient, namespace: str, cluster: Cluster
) -> None:
    audit = cluster.audit
    if audit is None:
        pytest.skip("attributing writes needs the audit log of the session's own control plane")
    key = new_key()
    shared.op.set_master_key(key)
    old = shared.op.start("--replica-id=old", "--leader-identity=old-leader", *TIMINGS)
    create_namespaces(k8s_api, shared.served)
    apply_everywhere(k8s_api, key, shared.served, 1)
    for ns in shared.served:
        wait_ready(k8s_api, SECRET, ns, "app")
        eventually(lambda ns=ns: projected(k8s_api, ns, 1), timeout=30, what=f"values projected in {ns}")

    new = ["r-a", "r-b"]
    start_all(shared, new)  # they agree on their shares, but the leader Lease is the old one's
    for replica in new:
        eventually(lambda r=replica: "paused: the leader Lease is held by old-leader" in
                   shared.runs[r].readyz()[1], timeout=20, what=f"{replica}'s /readyz to say why")
        assert shared.runs[replica].metric("ironflow_share_paused") == 1
    apply_everywhere(k8s_api, key, shared.served, 2)
    for ns in shared.served:
        eventually(lambda ns=ns: projected(k8s_api, ns, 2), timeout=30, what=f"the change projected in {ns}")
    audit.flush(k8s_api, namespace)
    while_old = namespace_writes(audit, shared.op.user, shared.served)
    for ns, events in while_old.items():
        assert writers(events) == {"old"}, (ns, writers(events))

    old.process.terminate()
    stopped = time.monotonic()
    old.process.wait(timeout=30)
    apply_everywhere(k8s_api, key, shared.served, 3)
    for ns in shared.served:
        eventually(lambda ns=ns: projected(k8s_api, ns, 3), timeout=LEASE_DURATION + 15,
                   what=f"{ns} served by the sharded replicas")
    served = time.monotonic() - stopped
    print(f"the sharded replicas served every namespace {served:.1f}s after the old leader's SIGTERM")
    assert served <= LEASE_DURATION + 10
    for replica in new:
        assert "held by a replica that shards; writing the share" in shared.runs[replica].output()
    audit.flush(k8s_api, namespace)
    written = namespace_writes(audit, shared.op.user, shared.served)
    for ns, events in written.items():  # the old leader's writes, then one sharded replica's, never mixed
        sharded = writers([e for e in events if replica_of(e) != "old"])
        assert len(sharded) == 1 and sharded <= set(new), (ns, sharded)
        assert overlapping(events) == [], (ns, overlapping(events))
