"""Who takes the Lease after a leader dies, and when: crashed, restarted, uninstalled, or outside the release.

Candidates run on one fake clock in a discrete-event loop: each tries, then sleeps what its own
`run()` would sleep (`next_delay`), as the operator does.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

import pytest
from test_leader_election import Clock, LeaseStore

from ironflow.controller.leadership import ElectionOptions, Leadership
from ironflow.core.lease import HolderPod, LeaseRecord, claimed, parse_lease, wait_before_taking

T0 = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


class PodStore(LeaseStore):
    """The Lease store, plus the pods of the operator namespace (a GET of a pod path)."""

    def __init__(self) -> None:
        super().__init__()
        self.pods: dict[str, dict[str, Any]] = {}
        self.pod_reads = 0

    async def get(self, path: str, **kwargs: Any) -> dict[str, Any] | None:
        if "/pods/" in path:
            self.pod_reads += 1
            return self.pods.get(path.rsplit("/", 1)[1])
        return await super().get(path, **kwargs)


def _candidate(store: LeaseStore, clock: Clock, name: str, pod: HolderPod | None = None) -> Leadership:
    options = ElectionOptions(identity=name, pod=pod)  # 15 s / 10 s / 2 s
    return Leadership(store, "ops", options, clock=clock, wall=clock.wall)  # type: ignore[arg-type]


async def _run_until(clock: Clock, end: float, schedule: dict[Leadership, float]) -> None:
    """Each candidate steps at its scheduled time, then sleeps its `next_delay()`; time jumps between."""
    while True:
        candidate, at = min(schedule.items(), key=lambda item: item[1])
        if at > end:
            clock.now = end
            return
        clock.now = at
        await candidate.step()
        schedule[candidate] = clock.now + candidate.next_delay()


def _holder(store: LeaseStore) -> str:
    record = parse_lease(store.body)
    return record.holder if record else ""


def test_given_leader_killed_when_restarted_container_and_standby_race_then_the_standby_wins() -> None:
    store, clock = LeaseStore(), Clock()
    start = clock.now
    leader, standby = _candidate(store, clock, "op-a_1"), _candidate(store, clock, "op-b_2")
    # the leader renews at start+0, +2, ...; the standby's tries fall just before each renewal, so it
    # sees each record 1.99 s after it was written (the worst case for it)
    schedule = {leader: start, standby: start + 1.99}
    asyncio.run(_run_until(clock, start + 10.0, schedule))
    assert leader.is_leading() and _holder(store) == "op-a_1"
    # SIGKILL 0.1 s after the leader's last renewal (at start+10); the pod's container restarts
    # and the new process (a new identity) first looks 1 s later, before the standby's next try
    del schedule[leader]
    restarted = _candidate(store, clock, "op-a_3")
    schedule[restarted] = start + 10.1 + 1.0
    taken_at: float | None = None
    while taken_at is None and clock.now < start + 60:
        asyncio.run(_run_until(clock, clock.now + 0.01, schedule))
        if _holder(store) != "op-a_1":
            taken_at = clock.now - (start + 10.1)
    assert taken_at is not None
    assert _holder(store) == "op-b_2", "the crashed leader's restarted container took over, not the standby"
    # the standby saw the last record 1.99 s after it was written: 15 s later it tries, not on a 2 s tick
    assert 15.0 <= taken_at + 0.1 - 1.99 <= 15.0 + 0.1, f"taken {taken_at:.2f}s after the kill"


def test_given_candidate_that_did_not_see_the_record_written_when_judged_then_waits_a_retry_more() -> None:
    held = LeaseRecord("a", 15, T0, T0, 0, "7")
    assert wait_before_taking(held, "b", saw_written=True, retry_period=2.0) == 15.0
    assert wait_before_taking(held, "b", saw_written=False, retry_period=2.0) == 17.0
    assert wait_before_taking(held, "b", saw_written=False, retry_period=2.0, holder_gone=True) == 2.0
    assert wait_before_taking(held, "a", saw_written=False, retry_period=2.0) == 0.0
    assert wait_before_taking(None, "b", saw_written=False, retry_period=2.0) == 0.0


def _stale_lease_of_uninstalled_release(store: PodStore) -> None:
    """What `helm uninstall` leaves: the Lease names a pod that is gone (its RBAC went first)."""
    old = HolderPod("ops", "ironflow-operator-old-1", "uid-old", "ironflow")
    store.body = {"metadata": {"resourceVersion": "9", "annotations": old.annotations()},
                  "spec": claimed(None, "ironflow-operator-old-1_9f", 15, T0, old).spec()}
    store.version = 9


def test_given_lease_of_a_pod_that_is_gone_when_reinstalled_then_a_new_replica_takes_it_at_once() -> None:
    store, clock = PodStore(), Clock()
    _stale_lease_of_uninstalled_release(store)
    pod = HolderPod("ops", "ironflow-operator-new-1", "uid-new", "ironflow")
    store.pods[pod.name] = {"metadata": {"name": pod.name, "uid": pod.uid}}
    fresh = _candidate(store, clock, "ironflow-operator-new-1_aa", pod)
    start = clock.now
    asyncio.run(_run_until(clock, start + 20.0, {fresh: start}))
    record = parse_lease(store.body)
    assert record is not None and record.holder == "ironflow-operator-new-1_aa"
    assert record.holder_pod == pod  # the new holder says which pod it is
    acquired = (record.acquire_time - clock.wall()).total_seconds() + clock.now - start  # type: ignore[operator]
    assert acquired <= 2.0 + 0.01, f"took {acquired:.1f}s: the dead holder's Lease was waited out"


def test_given_holder_pod_alive_when_record_stops_changing_then_the_whole_duration_is_waited() -> None:
    store, clock = PodStore(), Clock()
    _stale_lease_of_uninstalled_release(store)
    store.pods["ironflow-operator-old-1"] = {"metadata": {"uid": "uid-old"}}  # e.g. a hung process
    other = _candidate(store, clock, "b", HolderPod("ops", "b", "uid-b", "ironflow"))
    start = clock.now
    asyncio.run(_run_until(clock, start + 16.0, {other: start}))
    assert _holder(store) == "ironflow-operator-old-1_9f"
    asyncio.run(_run_until(clock, start + 17.5, {other: clock.now}))
    assert _holder(store) == "b"
    assert store.pod_reads == 1, "the holder's pod is read once per record, not at every try"


def test_given_restarted_pod_of_same_name_when_uid_differs_then_the_holder_counts_as_gone() -> None:
    store, clock = PodStore(), Clock()
    _stale_lease_of_uninstalled_release(store)
    store.pods["ironflow-operator-old-1"] = {"metadata": {"uid": "another-pod-of-that-name"}}
    other = _candidate(store, clock, "b")
    asyncio.run(_run_until(clock, clock.now + 3.0, {other: clock.now}))
    assert _holder(store) == "b"


def test_given_make_run_holds_the_lease_when_a_release_pod_stands_by_then_it_says_so_in_log_and_readyz(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = PodStore(), Clock()
    outside = _candidate(store, clock, "laptop_77")  # no pod: `make run`
    asyncio.run(outside.step())
    pod = HolderPod("ops", "ironflow-operator-x", "uid-x", "ironflow")
    standby = _candidate(store, clock, "ironflow-operator-x_1", pod)
    caplog.set_level(logging.INFO, logger="ironflow.leadership")
    schedule = {outside: clock.now, standby: clock.now + 0.5}
    asyncio.run(_run_until(clock, clock.now + 150.0, schedule))
    assert _holder(store) == "laptop_77" and not standby.is_leading()
    said = [r for r in caplog.records if "outside this release" in r.getMessage()]
    assert said and all(r.levelno == logging.WARNING for r in said)
    assert "laptop_77" in said[0].getMessage() and "names no pod" in said[0].getMessage()
    assert 2 <= len(said) <= 4, f"{len(said)} lines in 150 s: not rate limited to one a minute"
    assert standby.report.text is not None and "another operator outside this release" in standby.report.text


def test_given_same_release_holder_when_standing_by_then_report_names_its_pod_not_an_outsider() -> None:
    store, clock = PodStore(), Clock()
    leader = _candidate(store, clock, "a_1", HolderPod("ops", "a", "uid-a", "ironflow"))
    standby = _candidate(store, clock, "b_1", HolderPod("ops", "b", "uid-b", "ironflow"))
    asyncio.run(_run_until(clock, clock.now + 5.0, {leader: clock.now, standby: clock.now + 1}))
    text = standby.report.text
    assert text is not None and text.startswith("standing by") and "pod ops/a, release ironflow" in text
    assert "outside" not in text


def test_given_released_on_shutdown_when_the_loop_tries_again_then_it_never_retakes_the_lease() -> None:
    store, clock = LeaseStore(), Clock()
    a = _candidate(store, clock, "a")
    asyncio.run(a.step())
    asyncio.run(a.release())
    writes = list(store.writes)
    clock.now += 2
    asyncio.run(a.step())
    assert not a.is_leading() and store.writes == writes and _holder(store) == ""
