"""Leader election through a coordination.k8s.io/v1 Lease: one replica writes, every replica serves.

Every replica watches, keeps its cache and answers the pod webhook; only the holder of the Lease
reconciles, publishes, rolls out, posts Events and registers the webhook (dev/tests). The gate is
`Leadership.is_leading()`, checked where work is dequeued (controller/worker.py) and, as the one
place every write passes, by the operator's client before it sends anything but a GET
(`Kube.write_guard`): a standby writes nothing but its attempts on the Lease.

Timing (defaults 15 s / 10 s / 2 s, as client-go's leaderelection):

- the holder renews every `retry_period`; each success makes it leader until
  `start of that attempt + renew_deadline` on its monotonic clock. Past that instant
  `is_leading()` is False by itself, even if the renew loop is stuck, so writes stop at once;
- a candidate takes the Lease only after seeing the same record for `lease_duration` on its own
  monotonic clock. It first saw that record no earlier than it was written, which was no
  earlier than the start of the holder's last successful attempt. So the holder stops at the
  latest `renew_deadline` after that start, and a take-over comes at the earliest
  `lease_duration` after it: `lease_duration - renew_deadline` (5 s) covers clock-rate
  differences and a write already in flight at the deadline;
- every Lease write is a create or an update carrying the resourceVersion it was decided on, so
  two candidates racing for a free Lease cannot both win (k8s/lease.py);
- on a clean shutdown the leader stops writing, then releases the Lease (no holder, 1 s), so a
  standby takes over at its next try instead of after a whole lease duration;
- a standby does not wait for the next retry tick once the Lease is due: it tries at the instant
  its wait ends (`next_delay`), and a candidate that only found the record (a restarted process)
  waits one retry period longer than one that saw it written (core/lease.py), so after a crash the
  standby that watched the leader wins, not the crashed leader's restarted container;
- a replica in a pod writes its pod into the Lease (annotations); a candidate that sees the
  record miss a renewal checks whether that pod still exists, and takes a dead pod's Lease at
  once (a reinstall after `helm uninstall`, which removes the RBAC before the pods can release).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import math
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ironflow.controller.standby_report import StandbyReport
from ironflow.core import share_gate
from ironflow.core.lease import (
    DEFAULT_LEASE_NAME,
    HolderPod,
    LeaseRecord,
    claimed,
    released,
    wait_before_taking,
)
from ironflow.k8s.async_client import ApiError, Kube, NotLeading
from ironflow.k8s.lease import LostRace, get_lease, holder_pod_gone, write_lease

logger = logging.getLogger("ironflow.leadership")
GainHook = Callable[[], Awaitable[None] | None]


def default_identity(pod_name: str | None = None) -> str:
    """The pod name (else hostname) plus a random suffix: a restarted process is a new holder."""
    return f"{pod_name or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ElectionOptions:
    enabled: bool = True
    lease_name: str = DEFAULT_LEASE_NAME
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str = field(default_factory=default_identity)
    pod: HolderPod | None = None  # this replica's pod, when it runs in one (the chart tells it)
    sharding: bool = False  # --sharding: namespaces shared out across replicas (controller/shares.py)
    replica_id: str = ""  # --replica-id (with --sharding, defaulted): member Lease, User-Agent

    def problem(self) -> str | None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            return "leader election needs lease duration > renew deadline > retry period > 0"
        return None


class Leadership:
    """This replica's view of the Lease; without election (`enabled=False`) it always leads."""

    def __init__(self, kube: Kube, namespace: str, options: ElectionOptions,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)) -> None:
        self.kube, self.namespace, self.options = kube, namespace, options
        self._clock, self._wall = clock, wall
        self._valid_until = math.inf if not options.enabled else -math.inf
        self._leading = not options.enabled  # what the loop last announced (gain/loss transitions)
        self._record: LeaseRecord | None = None
        self._observed: tuple[object, ...] | None = None
        self._observed_at = 0.0
        self._looked = False  # any successful read yet: a record that changes after it was seen written
        self._saw_written = False
        self._wait: float | None = None  # how long the current record must stay unchanged; None: free/ours
        self._gone: tuple[tuple[object, ...] | None, bool] | None = None  # (record seen, holder pod gone)
        self.report = StandbyReport(namespace, options.lease_name, options.pod, wall, clock)
        self._stopping = False  # released on shutdown: never take it again
        self._hooks: list[GainHook] = []
        self.term = 1 if self._leading else 0
        # The leader Lease as last read, and the start of the read before it changed (core/share_gate.py).
        self.seen: LeaseRecord | None = None
        self.seen_written_after: float | None = None
        self._read_started: float | None = None
        self._quiet_until = -math.inf  # without sharding, after taking the Lease from a sharded leader

    @property
    def identity(self) -> str:
        return self.options.identity

    def is_leading(self) -> bool:
        now = self._clock()
        return self._quiet_until <= now < self._valid_until

    def share_pause(self, now: float) -> str | None:
        """Why a sharded replica writes no namespace now, from the leader Lease as last read (None: go)."""
        return share_gate.paused_reason(self.is_leading(), self.seen, self.seen_written_after,
                                        self.options.renew_deadline, now)

    def _saw(self, record: LeaseRecord | None, read_started: float) -> None:
        if self.seen is None or record is None or record.observed_as() != self.seen.observed_as():
            self.seen_written_after = self._read_started
        self.seen, self._read_started = record, read_started

    def guard(self, _path: str = "") -> None:
        """Kube.write_guard: refuse to send a write unless the Lease is ours right now."""
        if not self.is_leading():
            raise NotLeading()

    def on_gain(self, hook: GainHook) -> None:
        """Called at every gain; also now if this replica already leads (level, not edge)."""
        self._hooks.append(hook)
        if self.is_leading():
            self._call(hook)

    def _call(self, hook: GainHook) -> None:
        result = hook()
        if result is not None:
            task = asyncio.ensure_future(result)
            task.add_done_callback(_log_failure)

    async def _attempt(self) -> bool:
        """One read and, when allowed, one guarded write; True when the Lease is ours after it."""
        read_started = self._clock()
        async with asyncio.timeout(self.options.renew_deadline / 2):
            current = await get_lease(self.kube, self.namespace, self.options.lease_name)
        self._saw(current, read_started)
        now = self._clock()
        seen = current.observed_as() if current is not None else None
        if seen != self._observed:
            self._observed, self._observed_at, self._saw_written = seen, now, self._looked
        self._looked = True
        unchanged = now - self._observed_at
        gone = await self._holder_gone(current, seen, unchanged)
        self._wait = wait_before_taking(current, self.identity, saw_written=self._saw_written,
                                        retry_period=self.options.retry_period, holder_gone=gone)
        if current is not None and current.held and current.holder != self.identity:
            self.report.standing_by(current, unchanged, self._wait, gone)
        else:
            self.report.text = None
        if unchanged < self._wait:
            return False
        duration = math.ceil(self.options.lease_duration)
        async with asyncio.timeout(self.options.renew_deadline / 2):
            wanted = claimed(current, self.identity, duration, self._wall(), self.options.pod,
                             sharding=self.options.sharding)
            record = await write_lease(self.kube, self.namespace, self.options.lease_name, wanted)
        self.seen, self.seen_written_after = record, now  # written after our read started, at least
        if current is not None and current.held and current.holder != self.identity:
            logger.info("took the leader Lease from %s (%s)", current.holder,
                        "its pod is gone" if gone else f"not renewed for {unchanged:.1f}s as seen here")
        if current is None or current.holder != self.identity:
            self._hold_back(current)
        self._record, self._wait = record, None
        self._observed, self._observed_at = record.observed_as(), self._clock()
        self.report.leading()
        return True

    async def _holder_gone(self, current: LeaseRecord | None, seen: tuple[object, ...] | None,
                           unchanged: float) -> bool:
        """Whether the holder's pod is gone: asked once per record, after it missed a renewal."""
        if (current is None or current.holder_pod is None or current.holder == self.identity
                or unchanged < self.options.retry_period):
            return False
        if self._gone is None or self._gone[0] != seen:
            async with asyncio.timeout(self.options.renew_deadline / 2):
                gone = await holder_pod_gone(self.kube, current.holder_pod)
            self._gone = (seen, bool(gone))
        return self._gone[1]

    def _hold_back(self, taken_from: LeaseRecord | None) -> None:
        quiet = share_gate.hold_back(self.options.sharding, taken_from, self.options.renew_deadline)
        if quiet > 0:
            self._quiet_until = self._clock() + quiet
            logger.warning("took the leader Lease from a leader that shards: writing nothing for %.0fs, "
                           "until the sharded replicas have stopped writing their shares", quiet)

    def next_delay(self) -> float:
        """Until the next attempt: the retry period, or less when the current record falls due sooner."""
        retry = self.options.retry_period
        if self._wait is None or self.is_leading():
            return retry
        due = self._observed_at + self._wait - self._clock()
        return min(retry, max(due, 0.05))

    async def run(self) -> None:
        if not self.options.enabled:
            return
        logger.info("leader election: Lease %s/%s as %s (duration %.0fs, renew deadline %.0fs, retry %.0fs)",
                    self.namespace, self.options.lease_name, self.identity, self.options.lease_duration,
                    self.options.renew_deadline, self.options.retry_period)
        while True:
            await self.step()
            await asyncio.sleep(self.next_delay())

    async def step(self) -> None:
        """One attempt to take or renew the Lease, then the gain/loss transition it implies."""
        if self._stopping:
            return
        started = self._clock()
        try:
            ours = await self._attempt()
        except (ApiError, LostRace, TimeoutError) as exc:
            logger.debug("Lease attempt failed: %s", exc)
            ours = False
        if ours:
            lapsed = self._leading and self._clock() >= self._valid_until
            self._valid_until = started + self.options.renew_deadline
            if lapsed:
                self._lapse()
        self._announce()

    def _lapse(self) -> None:
        """The Lease stayed ours, but the deadline passed between two attempts: the process was
        frozen (a stopped container, a paused VM), or the API server slow, for longer than the
        renew deadline. `is_leading()` said no meanwhile, so the workers dropped every key they
        dequeued then, trusting a new leader to resync them; with no loss announced, none would.
        So this renewal counts as a gain: a new term, and the gain hooks resync everything once."""
        logger.warning("the leader Lease %s/%s was renewed after its deadline had passed: writes "
                       "stopped meanwhile, so what was dropped is resynced", self.namespace,
                       self.options.lease_name)
        self._leading = False

    def _announce(self) -> None:
        leading = self.is_leading()
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            self.term += 1
            logger.info("became the leader (Lease %s/%s, term %d): resyncing everything once",
                        self.namespace, self.options.lease_name, self.term)
            for hook in list(self._hooks):
                self._call(hook)
        else:
            logger.warning("lost the leader Lease %s/%s: writes stopped, standing by",
                           self.namespace, self.options.lease_name)

    async def release(self) -> None:
        """On shutdown: stop writing now, then hand the Lease back so a standby need not wait it out."""
        was_leading = self._clock() < self._valid_until  # holding back counts: the Lease is ours
        self._valid_until, self._stopping = -math.inf, True
        if not self.options.enabled or not was_leading or self._record is None:
            return
        try:
            async with asyncio.timeout(self.options.retry_period):
                await write_lease(self.kube, self.namespace, self.options.lease_name,
                                  released(self._record, self._wall()))
            logger.info("released the leader Lease %s/%s", self.namespace, self.options.lease_name)
        except (ApiError, LostRace, TimeoutError) as exc:
            logger.warning("could not release the leader Lease (%s): a standby takes over when it expires",
                           exc)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:  # one-off: logged with its traceback
        logger.error("a leader-gain hook failed", exc_info=task.exception())
