"""Namespaces shared out across replicas (core/shares.py): assignment, hand-over, exclusivity.

The replicas here are `Membership` objects over a fake store of member Leases and one fake clock
(monotonic seconds; the wall clock is the epoch plus the same seconds), so every interleaving of
renewals, lists, kills and clean stops can be replayed exactly.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from dataclasses import dataclass, field

from ironflow.core.lease import LeaseRecord
from ironflow.core.shares import (
    Member,
    Membership,
    format_view,
    member_lease_name,
    owner,
    parse_member,
    parse_view,
    renewed_member,
)

EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
NAMESPACES = [f"team-{i}" for i in range(1000)]
D, DEADLINE = 15.0, 10.0


@dataclass
class Cluster:
    """Member Leases as the API server would hold them, and the one clock everybody reads."""

    now: float = 100.0
    leases: dict[str, Member] = field(default_factory=dict)
    rv: int = 0
    replicas: dict[str, Membership] = field(default_factory=dict)

    def wall(self) -> datetime.datetime:
        return EPOCH + datetime.timedelta(seconds=self.now)

    def join(self, replica: str) -> Membership:
        self.replicas[replica] = Membership(replica, D, DEADLINE)
        return self.replicas[replica]

    def renew(self, replica: str) -> None:
        membership = self.replicas[replica]
        view = membership.view(self.now) | {replica}
        self.rv += 1
        current = self.leases.get(replica)
        written = renewed_member(current, member_lease_name("ironflow-operator", replica), replica, int(D),
                                 self.wall(), view, 0, 0)
        self.leases[replica] = Member(written.name, _with_rv(written.lease, str(self.rv)), written.view)
        membership.renewed(self.now, self.now, written.view)

    def list(self, replica: str) -> None:
        self.replicas[replica].listed(self.now, self.now, list(self.leases.values()), self.wall())

    def round(self, *replicas: str) -> None:
        for replica in replicas:
            self.renew(replica)
        for replica in replicas:
            self.list(replica)

    def stop(self, replica: str) -> None:
        self.replicas[replica].expire()
        self.leases.pop(replica, None)

    def writers(self, namespace: str) -> list[str]:
        return [r for r, m in self.replicas.items() if m.may_write(namespace, self.now)]


def _with_rv(record: LeaseRecord, rv: str) -> LeaseRecord:
    return LeaseRecord(record.holder, record.duration_seconds, record.acquire_time, record.renew_time,
                       record.transitions, rv, record.holder_pod)


def _owned(cluster: Cluster, replica: str) -> set[str]:
    return {n for n in NAMESPACES if cluster.replicas[replica].may_write(n, cluster.now)}


def test_given_1000_namespaces_when_members_join_one_by_one_up_to_4_then_only_the_joiner_takes_any() -> None:
    members: list[str] = ["replica-a"]
    before = {n: owner(n, members) for n in NAMESPACES}
    for joiner in ("replica-b", "replica-c", "replica-d"):
        members.append(joiner)
        after = {n: owner(n, members) for n in NAMESPACES}
        moved = {n for n in NAMESPACES if after[n] != before[n]}
        assert moved and all(after[n] == joiner for n in moved)
        before = after


def test_given_4_members_when_one_leaves_then_only_its_namespaces_move() -> None:
    members = ["replica-a", "replica-b", "replica-c", "replica-d"]
    before = {n: owner(n, members) for n in NAMESPACES}
    after = {n: owner(n, ["replica-a", "replica-c", "replica-d"]) for n in NAMESPACES}
    moved = {n for n in NAMESPACES if after[n] != before[n]}
    assert moved == {n for n in NAMESPACES if before[n] == "replica-b"}


def test_given_4_members_and_1000_namespaces_when_assigned_then_each_holds_roughly_a_quarter() -> None:
    counts = Counter(owner(n, ["replica-a", "replica-b", "replica-c", "replica-d"]) for n in NAMESPACES)
    assert len(counts) == 4 and all(200 <= c <= 300 for c in counts.values()), counts


def test_given_no_members_when_asked_then_nobody_owns_and_ties_do_not_depend_on_order() -> None:
    assert owner("team-1", []) is None
    assert owner("team-1", ["b", "a", "c"]) == owner("team-1", ["c", "b", "a"])


def test_given_a_member_lease_when_formatted_and_parsed_then_view_and_share_survive() -> None:
    member = renewed_member(None, member_lease_name("ironflow-operator", "Pod_A.1"), "Pod_A.1", 15, EPOCH,
                            {"b", "a"}, 12, 345)
    lease = {"metadata": {"name": member.name, "resourceVersion": "7", "annotations": member.annotations()},
             "spec": member.lease.spec()}
    parsed = parse_member(lease)
    assert parsed is not None and parsed.replica == "Pod_A.1"
    assert parsed.name == "ironflow-operator-member-pod-a-1"
    assert parsed.view == {"a", "b", "Pod_A.1"} and (parsed.namespaces, parsed.resources) == (12, 345)
    assert member.annotations()["ironflow.dev/view"] == "Pod_A.1,a,b"
    assert parse_view(format_view(["x", "y"])) == {"x", "y"} and parse_view(None) == frozenset()
    assert member_lease_name("ironflow-operator", "op_1.") == "ironflow-operator-member-op-1"
    assert len(member_lease_name("ironflow-operator", "x" * 300)) == 253


def test_given_an_owner_when_a_replica_joins_then_it_gains_after_the_owner_published_a_view_with_it() -> None:
    cluster = Cluster()
    cluster.join("a")
    cluster.round("a")
    assert _owned(cluster, "a") == set(NAMESPACES)
    cluster.join("b")
    cluster.list("b")
    cluster.round("b")  # b published {a, b}, but a's published view still gives a everything
    destined = {n for n in NAMESPACES if owner(n, ["a", "b"]) == "b"}
    assert destined and not _owned(cluster, "b")
    cluster.list("a")  # a sees b: it stops writing b's namespaces at once, before publishing
    assert _owned(cluster, "a") == set(NAMESPACES) - destined and not _owned(cluster, "b")
    cluster.renew("a")
    assert not _owned(cluster, "b")  # b has not read a's new view yet
    cluster.list("b")
    assert _owned(cluster, "b") == destined


def test_given_two_members_when_one_stops_renewing_then_the_other_gains_its_share_after_the_lease() -> None:
    cluster = Cluster()
    cluster.join("a"), cluster.join("b")
    cluster.list("a"), cluster.list("b")
    for _ in range(3):
        cluster.round("a", "b")
        cluster.now += 2
    theirs = {n for n in NAMESPACES if owner(n, ["a", "b"]) == "a"}
    assert _owned(cluster, "b") == set(NAMESPACES) - theirs
    killed_at = cluster.now  # a is killed: its Lease stays, unchanged
    while cluster.now - killed_at < D:
        cluster.round("b")
        assert not _owned(cluster, "b") & theirs, f"gained {cluster.now - killed_at:.0f}s after the kill"
        assert not cluster.replicas["a"].may_write(next(iter(theirs)), cluster.now) or (
            cluster.now - killed_at < DEADLINE)
        cluster.now += 2
    cluster.round("b")
    cluster.round("b")
    assert _owned(cluster, "b") == set(NAMESPACES)


def test_given_a_replica_past_its_renew_deadline_when_asked_then_it_owns_nothing() -> None:
    cluster = Cluster()
    cluster.join("a")
    cluster.round("a")
    cluster.now += DEADLINE - 0.01
    assert _owned(cluster, "a") == set(NAMESPACES)
    cluster.now += 0.02
    assert not _owned(cluster, "a")


def test_given_two_members_when_one_deletes_its_lease_then_the_other_takes_over_without_waiting() -> None:
    cluster = Cluster()
    cluster.join("a"), cluster.join("b")
    cluster.list("a"), cluster.list("b")
    cluster.round("a", "b")
    cluster.round("a", "b")
    cluster.stop("a")  # a clean stop: writes stopped, then the Lease deleted
    cluster.now += 0.5
    cluster.round("b")
    cluster.round("b")
    assert _owned(cluster, "b") == set(NAMESPACES)


def test_given_a_released_member_lease_when_listed_then_it_counts_as_gone() -> None:
    cluster = Cluster()
    cluster.join("b")
    released = renewed_member(None, "x", "a", 15, cluster.wall(), {"a"}, 0, 0)
    record = _with_rv(LeaseRecord("", 1, None, cluster.wall(), 0), "1")
    cluster.leases["a"] = Member("x", record, released.view)
    cluster.round("b")
    assert cluster.replicas["b"].view(cluster.now) == {"b"}


def test_given_a_stale_lease_seen_for_the_first_time_when_listed_then_it_is_not_counted_live() -> None:
    cluster = Cluster()
    cluster.join("a")
    cluster.round("a")
    cluster.now += D + 1  # a died long ago
    cluster.join("b")
    cluster.round("b")
    cluster.round("b")
    assert cluster.replicas["b"].view(cluster.now) == {"b"} and _owned(cluster, "b") == set(NAMESPACES)


def test_given_random_joins_kills_stops_and_failed_renewals_then_no_namespace_ever_has_two_writers() -> None:
    sample = NAMESPACES[:30]
    for seed in range(25):
        rng = random.Random(seed)
        cluster = Cluster()
        alive: list[str] = []
        names = iter(f"r{i}" for i in range(100))
        for _ in range(300):
            roll = rng.random()
            if roll < 0.04 or not alive:
                alive.append(next(names))
                cluster.join(alive[-1])
            elif roll < 0.06 and len(alive) > 1:
                alive.remove(rng.choice(alive))  # kill -9: its Lease stays as last written
            elif roll < 0.08 and len(alive) > 1:
                gone = rng.choice(alive)
                alive.remove(gone)
                cluster.stop(gone)
            elif roll < 0.5:
                replica = rng.choice(alive)
                chance = rng.random()
                if chance > 0.1:  # a renewal that failed writes nothing
                    cluster.renew(replica)
                if chance > 0.95:  # ... or it was written, but its answer timed out
                    cluster.replicas[replica].unpublished()
            else:
                cluster.list(rng.choice(alive))
            cluster.now += rng.uniform(0, 1.2)
            for namespace in sample:
                writers = cluster.writers(namespace)
                assert len(writers) <= 1, (seed, namespace, writers)
        for _ in range(12):  # then a quiet spell: every namespace is written by exactly one live replica
            cluster.round(*alive)
            cluster.now += 2
        for namespace in sample:
            assert len(cluster.writers(namespace)) == 1 and cluster.writers(namespace)[0] in alive, seed


def test_given_a_renewal_of_unknown_outcome_when_asked_then_nothing_is_owned_until_the_next_one() -> None:
    cluster = Cluster()
    cluster.join("a")
    cluster.round("a")
    assert _owned(cluster, "a") == set(NAMESPACES)
    cluster.replicas["a"].unpublished()  # a timeout: the view may or may not be in the Lease
    assert not _owned(cluster, "a")
    cluster.round("a")
    assert _owned(cluster, "a") == set(NAMESPACES)
