"""Leader election on a fake Lease store and a fake clock: who may write, and when.

The store behaves as the API server does for Leases: create fails with 409 when the Lease exists,
update fails with 409 unless it carries the current resourceVersion.
"""

from __future__ import annotations

import asyncio
import datetime
import types
from collections.abc import Hashable, Mapping
from typing import Any

import pytest

from ironflow.controller import worker
from ironflow.controller.cache import Cache
from ironflow.controller.leadership import ElectionOptions, Leadership
from ironflow.controller.resync import resync
from ironflow.controller.work import AnchorKey, CrKey, RolloutKey, SealingKeyKey, WithdrawKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.core.lease import LeaseRecord, claimed, liveness, may_acquire, parse_lease, released
from ironflow.k8s.admission import _contains
from ironflow.k8s.async_client import ApiError, Kube, NotLeading
from ironflow.k8s.lease import LostRace, write_lease

T0 = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime.datetime:
        return T0 + datetime.timedelta(seconds=self.now - 1000.0)


class LeaseStore:
    """What the API server does with one Lease; counts writes per verb."""

    def __init__(self) -> None:
        self.body: dict[str, Any] | None = None
        self.version = 0
        self.writes: list[str] = []
        self.down = False

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        if self.down:
            raise ApiError(0, "ClientConnectorError", "API server unreachable")
        return self.body

    async def request(
        self, method: str, path: str, *, body: Mapping[str, Any], guarded: bool = True, **_: Any
    ) -> dict[str, Any]:
        assert guarded is False, "Lease writes must bypass the leader gate"
        if self.down:
            raise ApiError(0, "ClientConnectorError", "API server unreachable")
        sent_version = body["metadata"].get("resourceVersion")
        if method == "POST" and self.body is not None:
            raise ApiError(409, "AlreadyExists", "leases already exists")
        current = None if self.body is None else self.body["metadata"]["resourceVersion"]
        if method == "PUT" and (current is None or sent_version != current):
            raise ApiError(409, "Conflict", "the object has been modified")
        self.version += 1
        self.writes.append(method)
        meta = {**body["metadata"], "resourceVersion": str(self.version)}
        self.body = {"metadata": meta, "spec": body["spec"]}
        return self.body


def _candidate(store: LeaseStore, clock: Clock, name: str) -> Leadership:
    options = ElectionOptions(identity=name)  # 15 s / 10 s / 2 s
    return Leadership(store, "ops", options, clock=clock, wall=clock.wall)  # type: ignore[arg-type]


async def _steps(clock: Clock, seconds: float, *candidates: Leadership) -> None:
    """Every candidate tries once per retry period (2 s) for `seconds`."""
    end = clock.now + seconds
    while clock.now < end:
        for candidate in candidates:
            await candidate.step()
        clock.now += 2.0


def test_given_free_lease_when_two_candidates_try_then_exactly_one_leads() -> None:
    store, clock = LeaseStore(), Clock()
    a, b = _candidate(store, clock, "a"), _candidate(store, clock, "b")
    asyncio.run(_steps(clock, 20, a, b))
    assert a.is_leading() and not b.is_leading()
    assert parse_lease(store.body) is not None and parse_lease(store.body).holder == "a"  # type: ignore[union-attr]
    assert store.writes[0] == "POST" and set(store.writes[1:]) == {"PUT"}  # b never wrote


def test_given_both_read_a_free_lease_when_both_write_then_the_second_loses_the_race() -> None:
    store = LeaseStore()

    async def race() -> None:
        await write_lease(store, "ops", "l", claimed(None, "a", 15, T0))  # type: ignore[arg-type]
        with pytest.raises(LostRace):
            await write_lease(store, "ops", "l", claimed(None, "b", 15, T0))  # type: ignore[arg-type]
        stale = claimed(parse_lease(store.body), "a", 15, T0)  # read at version 1
        await write_lease(store, "ops", "l", stale)  # type: ignore[arg-type]
        with pytest.raises(LostRace):  # b took its decision on version 1 too: refused
            await write_lease(store, "ops", "l", claimed(stale, "b", 15, T0))  # type: ignore[arg-type]

    asyncio.run(race())
    assert parse_lease(store.body).holder == "a"  # type: ignore[union-attr]


def test_given_leader_dies_when_standby_keeps_trying_then_leader_stops_before_standby_takes_over() -> None:
    store, clock = LeaseStore(), Clock()
    a, b = _candidate(store, clock, "a"), _candidate(store, clock, "b")
    asyncio.run(_steps(clock, 4, a, b))
    assert a.is_leading()
    last_renewal_started = clock.now - 2.0
    timeline: list[tuple[float, bool, bool]] = []

    async def after_death() -> None:
        while not b.is_leading():
            await b.step()
            timeline.append((clock.now - last_renewal_started, a.is_leading(), b.is_leading()))
            clock.now += 0.5

    asyncio.run(after_death())
    a_stopped = min(t for t, a_leads, _ in timeline if not a_leads)
    b_started = min(t for t, _, b_leads in timeline if b_leads)
    assert a_stopped <= 10.0 and b_started >= 15.0 and b_started <= 15.0 + 2.5
    assert not any(a_leads and b_leads for _, a_leads, b_leads in timeline)
    assert parse_lease(store.body).transitions == 1  # type: ignore[union-attr]


def test_given_api_unreachable_when_leader_cannot_renew_then_it_stops_at_the_renew_deadline() -> None:
    store, clock = LeaseStore(), Clock()
    a = _candidate(store, clock, "a")
    asyncio.run(a.step())
    started = clock.now
    store.down = True
    while a.is_leading():
        asyncio.run(a.step())
        clock.now += 1.0
    assert clock.now - started <= 10.0 + 1.0
    with pytest.raises(NotLeading):
        a.guard()


def test_given_leader_releases_when_standby_tries_then_it_takes_over_at_once() -> None:
    store, clock = LeaseStore(), Clock()
    a, b = _candidate(store, clock, "a"), _candidate(store, clock, "b")
    asyncio.run(_steps(clock, 4, a, b))
    asyncio.run(a.release())
    assert not a.is_leading() and parse_lease(store.body).held is False  # type: ignore[union-attr]
    asyncio.run(b.step())
    assert b.is_leading()


def _leader_counting_gains(store: LeaseStore, clock: Clock, seconds: float) -> tuple[Leadership, list[int]]:
    """Candidate "a" with a gain hook recording the term of each gain, stepped for `seconds`
    (it leads from its first step: one gain, term 1)."""
    a = _candidate(store, clock, "a")
    calls: list[int] = []
    a.on_gain(lambda: calls.append(a.term))
    asyncio.run(_steps(clock, seconds, a))
    assert calls == [1]
    return a, calls


def test_given_gain_hooks_when_leadership_is_gained_then_each_runs_once_per_gain() -> None:
    store, clock = LeaseStore(), Clock()
    a, calls = _leader_counting_gains(store, clock, 6)
    late: list[int] = []
    a.on_gain(lambda: late.append(a.term))  # registered while leading: runs now
    assert late == [1]
    store.down = True
    clock.now += 11
    asyncio.run(a.step())
    store.down = False
    asyncio.run(a.step())
    assert calls == [1, 2] and late == [1, 2]


def test_given_a_leader_frozen_past_its_deadline_when_it_renews_then_the_gain_hooks_run_again() -> None:
    """A replica stopped (SIGSTOP, a paused VM) between two attempts: is_leading() said no
    meanwhile, so keys dequeued then were dropped; the renewal that follows must resync them."""
    store, clock = LeaseStore(), Clock()
    a, calls = _leader_counting_gains(store, clock, 4)
    clock.now += 30  # frozen: no attempt, the deadline passes, the Lease (15 s) is still ours
    assert not a.is_leading()
    asyncio.run(a.step())
    assert a.is_leading() and calls == [1, 2]
    asyncio.run(_steps(clock, 6, a))  # renewed in time from here on: no more resyncs
    assert calls == [1, 2]


def test_given_election_disabled_when_asked_then_always_leading() -> None:
    leadership = Leadership(LeaseStore(), "ops", ElectionOptions(enabled=False))  # type: ignore[arg-type]
    assert leadership.is_leading()
    leadership.guard()
    asyncio.run(leadership.run())  # returns at once: nothing to elect


def test_given_a_guarded_client_when_not_leading_then_writes_are_refused_before_sending() -> None:
    kube = Kube(endpoint=None, credentials=None)  # type: ignore[arg-type]  # any use would fail
    kube.write_guard = Leadership(LeaseStore(), "ops", ElectionOptions()).guard  # type: ignore[arg-type]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(NotLeading):
            asyncio.run(kube.request(method, "/api/v1/namespaces/x/configmaps", body={}))


def test_given_standby_when_a_key_is_dequeued_then_nothing_is_reconciled_and_the_key_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reconciled: list[Hashable] = []

    async def reconcile(*args: Any) -> None:
        reconciled.append(args[1:4])

    monkeypatch.setattr(worker.projector, "reconcile", reconcile)

    async def scenario() -> None:
        clock = Clock()
        leadership = _candidate(LeaseStore(), clock, "a")
        keys_loaded = asyncio.Event()
        keys_loaded.set()
        runtime = types.SimpleNamespace(
            keys_loaded=keys_loaded, keys=object(), leadership=leadership, queue=WorkQueue(),
            owns=lambda _namespace: leadership.is_leading(),  # Runtime.owns without --sharding
            shares=types.SimpleNamespace(enabled=False),
        )
        handle = worker.handler(runtime)  # type: ignore[arg-type]
        await handle(CrKey("IronflowSecret", "ns", "app"))
        assert reconciled == [] and runtime.queue.idle()
        await leadership.step()
        await handle(CrKey("IronflowSecret", "ns", "app"))
        assert reconciled == [("IronflowSecret", "ns", "app")]

    asyncio.run(scenario())


def test_given_lease_records_when_judged_then_rules_hold() -> None:
    held = LeaseRecord("a", 15, T0, T0, 3, "7")
    assert may_acquire(None, "b", 0) and may_acquire(held, "a", 0)
    assert not may_acquire(held, "b", 14.9) and may_acquire(held, "b", 15)
    assert may_acquire(released(held, T0), "b", 0)
    taken = claimed(held, "b", 15, T0 + datetime.timedelta(seconds=20))
    assert (taken.holder, taken.transitions, taken.resource_version) == ("b", 4, "7")
    renewed = claimed(held, "a", 15, T0 + datetime.timedelta(seconds=2))
    assert (renewed.transitions, renewed.acquire_time) == (3, T0)
    assert parse_lease({"metadata": {"resourceVersion": "7"}, "spec": held.spec()}) == held


def test_given_lease_when_status_reads_it_then_alive_stale_released_or_missing() -> None:
    held = LeaseRecord("a", 15, T0, T0, 0)
    assert liveness(held, T0 + datetime.timedelta(seconds=5)).alive
    stale = liveness(held, T0 + datetime.timedelta(seconds=16))
    assert stale.state == "stale" and stale.needs_attention and "no operator is alive" in stale.describe()
    assert liveness(released(held, T0), T0).state == "released"
    assert liveness(None, T0).state == "missing" and liveness(None, T0).needs_attention


def test_given_registered_configuration_when_compared_then_server_defaults_do_not_count_as_change() -> None:
    wanted = {"webhooks": [{"name": "w", "clientConfig": {"url": "https://x"}, "rules": [{"a": 1}]}]}
    actual = {
        "webhooks": [
            {"name": "w", "clientConfig": {"url": "https://x"}, "rules": [{"a": 1}], "objectSelector": {}}
        ]
    }
    assert _contains(actual, wanted)
    assert not _contains(actual, {"webhooks": [{"name": "w", "clientConfig": {"url": "https://y"}}]})


def test_given_cached_resources_when_leadership_gained_then_everything_is_queued_once() -> None:
    async def scenario() -> WorkQueue:
        cache = Cache()
        for kind, name in (("IronflowSecret", "app"), ("IronflowConfig", "app")):
            cache.put(
                kind, {"metadata": {"name": name, "namespace": "dev", "uid": kind, "resourceVersion": "1"}}
            )
        runtime = types.SimpleNamespace(cache=cache, queue=WorkQueue(), served_namespaces={"dev", "empty"})
        resync(runtime)  # type: ignore[arg-type]
        return runtime.queue

    queue = asyncio.run(scenario())
    assert queue._queued == {
        CrKey("IronflowSecret", "dev", "app"),
        CrKey("IronflowConfig", "dev", "app"),
        SealingKeyKey("dev"),
        SealingKeyKey("empty"),
        AnchorKey(),
        WithdrawKey(),
        RolloutKey("dev"),
    }
