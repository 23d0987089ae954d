"""Mixed versions (core/share_gate.py): a sharded replica writes its share only under a leader that
shards, and a leader without sharding that follows one holds back; the rule, then the loops over
a fake leader Lease and a fake clock."""

from __future__ import annotations

import asyncio
import logging
import math
import types

import pytest
from test_leader_election import Clock, LeaseStore
from test_shares_loop import NAMESPACES, MemberStore

from ironflow import metrics
from ironflow.controller.leadership import ElectionOptions, Leadership
from ironflow.controller.shares import Shares
from ironflow.core.lease import HolderPod, LeaseRecord, parse_lease
from ironflow.core.share_gate import hold_back, paused_reason, vouches_until

RENEW_DEADLINE, LEASE_DURATION = 10.0, 15.0


def _record(holder: str, sharding: bool) -> LeaseRecord:
    return LeaseRecord(holder, 15, None, None, 0, "7", None, sharding)


def test_given_a_sharded_holder_seen_changing_when_time_passes_then_it_vouches_for_renew_deadline() -> None:
    record = _record("new-1", sharding=True)
    assert vouches_until(record, 100.0, RENEW_DEADLINE) == 110.0
    assert paused_reason(False, record, 100.0, RENEW_DEADLINE, 109.9) is None
    assert "not been read fresh enough" in str(paused_reason(False, record, 100.0, RENEW_DEADLINE, 110.0))


def test_given_a_sharded_holder_on_the_first_read_when_asked_then_it_vouches_for_nothing_yet() -> None:
    assert vouches_until(_record("new-1", sharding=True), None, RENEW_DEADLINE) == -math.inf
    assert paused_reason(False, _record("new-1", sharding=True), None, RENEW_DEADLINE, 0.0) is not None


def test_given_a_leader_without_sharding_when_asked_then_the_replica_waits_and_says_why() -> None:
    reason = paused_reason(False, _record("old-1", sharding=False), 100.0, RENEW_DEADLINE, 101.0)
    assert reason is not None and "old-1" in reason and "does not shard" in reason


@pytest.mark.parametrize("record", [None, LeaseRecord("", 1, None, None, 3, "9", None, True)])
def test_given_no_holder_when_asked_then_the_replica_waits_for_a_leader_that_shards(
        record: LeaseRecord | None) -> None:
    reason = paused_reason(False, record, 100.0, RENEW_DEADLINE, 101.0)
    assert "no replica holds the leader Lease" in str(reason)


def test_given_this_replica_leads_when_asked_then_nothing_pauses_it() -> None:
    assert paused_reason(True, _record("old-1", sharding=False), None, RENEW_DEADLINE, 1e9) is None


def test_given_a_take_over_when_the_leader_does_not_shard_then_a_sharded_predecessor_holds_it_back() -> None:
    assert hold_back(False, _record("new-1", sharding=True), RENEW_DEADLINE) == RENEW_DEADLINE
    assert hold_back(False, _record("old-1", sharding=False), RENEW_DEADLINE) == 0.0
    assert hold_back(False, None, RENEW_DEADLINE) == 0.0
    assert hold_back(True, _record("new-1", sharding=True), RENEW_DEADLINE) == 0.0


def _candidate(store: LeaseStore, clock: Clock, name: str, sharding: bool,
               pod: HolderPod | None = None) -> Leadership:
    options = ElectionOptions(identity=name, sharding=sharding, replica_id=name if sharding else "", pod=pod)
    return Leadership(store, "ops", options, clock=clock, wall=clock.wall)  # type: ignore[arg-type]


def _annotations(store: LeaseStore) -> dict[str, str]:
    assert store.body is not None
    return dict(store.body["metadata"]["annotations"])


async def _tick(clock: Clock, *candidates: Leadership, seconds: float = 0.5) -> None:
    for candidate in candidates:
        await candidate.step()
    clock.now += seconds


def test_given_an_old_leader_when_sharded_replicas_start_then_they_pause_until_it_releases() -> None:
    store, clock = LeaseStore(), Clock()
    old = _candidate(store, clock, "old", sharding=False)
    pod = HolderPod("ops", "op-new", "uid-9", "ironflow")
    new_a, new_b = _candidate(store, clock, "new-a", True, pod), _candidate(store, clock, "new-b", True)

    async def scenario() -> None:
        await _tick(clock, old)
        for _ in range(60):  # 30 s: more than a lease duration, the old leader renewing
            await _tick(clock, old, new_a, new_b)
            assert old.is_leading() and new_a.share_pause(clock.now) and new_b.share_pause(clock.now)
        await old.release()
        for _ in range(8):
            await _tick(clock, new_a, new_b)

    asyncio.run(scenario())
    assert new_a.is_leading() and _annotations(store)["ironflow.dev/sharding"] == "true"
    assert _annotations(store)["ironflow.io/holder-pod"] == "ops/op-new"  # the pod annotations stay
    record = parse_lease(store.body)
    assert record is not None and record.sharding
    assert new_a.share_pause(clock.now) is None and new_b.share_pause(clock.now) is None


def test_given_a_sharded_leader_dies_when_an_old_replica_takes_over_then_never_both_write() -> None:
    store, clock = LeaseStore(), Clock()
    leader, follower = _candidate(store, clock, "new-a", True), _candidate(store, clock, "new-b", True)
    old = _candidate(store, clock, "old", sharding=False)

    async def scenario() -> list[tuple[bool, bool]]:
        for _ in range(8):
            await _tick(clock, leader, follower, old)
        assert follower.share_pause(clock.now) is None
        timeline = []
        for _ in range(120):  # the sharded leader is gone; the old replica (tries first), the follower go on
            await _tick(clock, old, follower, seconds=0.25)
            timeline.append((old.is_leading(), follower.share_pause(clock.now) is None))
        return timeline

    timeline = asyncio.run(scenario())
    assert timeline[-1][0] and not any(old_writes and share for old_writes, share in timeline)


def test_given_a_sharded_leader_releases_when_a_replica_without_sharding_takes_over_then_it_holds_back(
        caplog: pytest.LogCaptureFixture) -> None:
    store, clock = LeaseStore(), Clock()
    leader, follower = _candidate(store, clock, "new-a", True), _candidate(store, clock, "new-b", True)
    unsharded = _candidate(store, clock, "plain", sharding=False)

    async def scenario() -> list[tuple[float, bool, bool]]:
        for _ in range(8):
            await _tick(clock, leader, follower, unsharded)
        await leader.release()
        assert parse_lease(store.body).sharding  # type: ignore[union-attr]  # kept when released
        released_at, timeline = clock.now, []
        for _ in range(40):  # the follower reads at its own pace: only every 2 s
            await _tick(clock, unsharded, seconds=0.25)
            if len(timeline) % 8 == 0:
                await follower.step()
            timeline.append((clock.now - released_at, unsharded.is_leading(),
                             follower.share_pause(clock.now) is None))
        return timeline

    with caplog.at_level(logging.WARNING, "ironflow.leadership"):
        timeline = asyncio.run(scenario())
    leads_from = min(t for t, leads, _ in timeline if leads)
    assert RENEW_DEADLINE <= leads_from <= RENEW_DEADLINE + 1.0
    assert not any(leads and share for _, leads, share in timeline)
    assert parse_lease(store.body).holder == "plain"  # type: ignore[union-attr]
    assert "ironflow.dev/sharding" not in _annotations(store)
    assert "writing nothing for 10s" in caplog.text


def test_given_the_leader_does_not_shard_when_recomputing_then_it_owns_nothing_says_why_once_and_resumes(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    pause: list[str | None] = ["the leader Lease is held by old, which does not shard"]
    leadership = types.SimpleNamespace(is_leading=lambda: False, share_pause=lambda _now: pause[0])
    options = ElectionOptions(identity="a_1", sharding=True, replica_id="a")
    shares = Shares(MemberStore(), "ops", options, leadership, clock=clock, wall=clock.wall)  # type: ignore[arg-type]
    shares.candidates = lambda: NAMESPACES
    moved: list[tuple[set[str], set[str]]] = []
    shares.on_change(lambda gained, lost: moved.append((gained, lost)))

    async def rounds(count: int) -> None:
        for _ in range(count):
            await shares.step()
            clock.now += 2.0

    with caplog.at_level(logging.INFO, "ironflow.shares"):
        asyncio.run(rounds(4))
        assert shares.owned() == set() and not shares.owns(NAMESPACES[0]) and moved == []
        assert metrics.SHARE_PAUSED._value.get() == 1  # type: ignore[attr-defined]
        assert caplog.text.count("writes no namespace: the leader Lease is held by old") == 1
        pause[0] = None
        asyncio.run(rounds(1))
    assert shares.owned() == set(NAMESPACES) and moved == [(set(NAMESPACES), set())]
    assert metrics.SHARE_PAUSED._value.get() == 0  # type: ignore[attr-defined]
    assert "held by a replica that shards; writing the share" in caplog.text
