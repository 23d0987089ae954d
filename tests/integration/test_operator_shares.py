"""Namespaces shared out across replicas (--sharding): every replica writes, none writes twice.

Proven from the API server's audit log, by the replica id each request carries in its
User-Agent: each namespace is written by the replica rendezvous hashing gives it, a killed
replica's namespaces are served again within the lease duration plus 10 s without two replicas
ever writing one namespace in overlapping windows, a joining replica takes only its share, and a
clean stop deletes its member Lease so that the others take over at once.
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from operator_fixtures import new_key, wait_ready
from shares_fixtures import (
    LEASE_DURATION,
    Shared,
    apply_everywhere,
    create_namespaces,
    namespace_writes,
    overlapping,
    projected,
    start_all,
    writers,
)

from ironflow.core.shares import owner
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures", "shares_fixtures"]
SECRET, CONFIG = "IronflowSecret", "IronflowConfig"


def test_given_three_sharded_replicas_when_one_is_killed_and_one_joins_then_one_writer_per_namespace(
    shared: Shared, k8s_api: client.ApiClient, namespace: str, cluster: Cluster
) -> None:
    audit = cluster.audit
    if audit is None:
        pytest.skip("attributing writes needs the audit log of the session's own control plane")
    key = new_key()
    shared.op.set_master_key(key)
    first = ["r-a", "r-b", "r-c"]
    start_all(shared, first)
    create_namespaces(k8s_api, shared.served)
    apply_everywhere(k8s_api, key, shared.served, 1)
    for ns in shared.served:
        wait_ready(k8s_api, SECRET, ns, "app")
        wait_ready(k8s_api, CONFIG, ns, "app")
        eventually(lambda ns=ns: projected(k8s_api, ns, 1), timeout=30, what=f"values projected in {ns}")
    audit.flush(k8s_api, namespace)
    written = namespace_writes(audit, shared.op.user, shared.served)
    for ns, events in written.items():  # each namespace by exactly the replica its hash names
        assert writers(events) == {owner(ns, first)}, (ns, writers(events))
    shares = {r: sum(1 for ns in shared.served if owner(ns, first) == r) for r in first}

    def published() -> dict[str, int]:
        members = shared.members()
        return {r: int(members[r].get("ironflow.dev/share-namespaces", "0")) for r in first}
    eventually(lambda: published() == shares, timeout=10, what=f"the member Leases to publish {shares}")

    victim = "r-b"
    theirs = [ns for ns in shared.served if owner(ns, first) == victim]
    shared.runs[victim].process.kill()
    shared.runs[victim].process.wait(timeout=10)
    killed = time.monotonic()
    apply_everywhere(k8s_api, key, shared.served, 2)
    for ns in theirs:
        eventually(lambda ns=ns: projected(k8s_api, ns, 2), timeout=LEASE_DURATION + 15,
                   what=f"{ns} served again after its replica was killed")
    served_again = time.monotonic() - killed
    print(f"a killed replica's {len(theirs)} namespace(s) served again after {served_again:.1f}s")
    assert served_again <= LEASE_DURATION + 10
    for ns in shared.served:  # nothing lost
        eventually(lambda ns=ns: projected(k8s_api, ns, 2), timeout=30, what=f"the change projected in {ns}")
    survivors = ["r-a", "r-c"]
    shared.wait_view(set(survivors))

    audit.flush(k8s_api, namespace)
    so_far = namespace_writes(audit, shared.op.user, shared.served)
    before_join = {ns: len(events) for ns, events in so_far.items()}
    shared.start("r-d")
    after = [*survivors, "r-d"]
    shared.wait_view(set(after))
    apply_everywhere(k8s_api, key, shared.served, 3)
    for ns in shared.served:
        eventually(lambda ns=ns: projected(k8s_api, ns, 3), timeout=30, what=f"the last change in {ns}")
    audit.flush(k8s_api, namespace)
    written = namespace_writes(audit, shared.op.user, shared.served)
    for ns, events in written.items():
        assert overlapping(events) == [], (ns, overlapping(events))
        since = writers(events[before_join[ns]:])
        # the joiner took only its own share: every write since is by the replica the hash names
        assert victim not in since and since <= {owner(ns, after)}, (ns, since)
    joined = {ns for ns, events in written.items() if "r-d" in writers(events)}
    assert joined == {ns for ns in shared.served if owner(ns, after) == "r-d"}


def test_given_two_sharded_replicas_when_one_stops_cleanly_then_its_lease_goes_and_the_other_serves_at_once(
    shared: Shared, k8s_api: client.ApiClient, namespace: str, cluster: Cluster
) -> None:
    key = new_key()
    shared.op.set_master_key(key)
    long_lease = ("--lease-duration=40", "--lease-renew-deadline=20", "--lease-retry-period=1")
    pair = ["r-a", "r-b"]
    start_all(shared, pair, *long_lease)
    create_namespaces(k8s_api, shared.served)
    apply_everywhere(k8s_api, key, shared.served, 1)
    for ns in shared.served:
        eventually(lambda ns=ns: projected(k8s_api, ns, 1), timeout=60, what=f"values projected in {ns}")

    stopping = shared.runs["r-b"]
    stopping.process.terminate()
    stopped = time.monotonic()
    eventually(lambda: "r-b" not in shared.members(), timeout=10, what="r-b's member Lease deleted")
    stopping.process.wait(timeout=30)
    assert "deleted the member Lease" in stopping.output()
    apply_everywhere(k8s_api, key, shared.served, 2)
    for ns in shared.served:
        eventually(lambda ns=ns: projected(k8s_api, ns, 2), timeout=20, what=f"the change projected in {ns}")
    handed_over = time.monotonic() - stopped
    print(f"clean stop: every namespace served by r-a {handed_over:.1f}s after SIGTERM (lease 40s)")
    assert handed_over < 25
    if cluster.audit is not None:
        cluster.audit.flush(k8s_api, namespace)
        for ns, events in namespace_writes(cluster.audit, shared.op.user, shared.served).items():
            assert overlapping(events) == [], (ns, overlapping(events))
