"""Sharding (--sharding): every live replica reconciles its share of the served namespaces.

Each replica keeps one member Lease in the operator namespace (k8s/lease.py), renewed every retry
period with the view it gates its writes with and the size of its share, and lists the members
every retry period. Who may write a namespace is decided in core/shares.py; this loop only reads,
writes, sleeps and tells the rest of the operator which namespaces it gained or lost, so that
the runtime can fill or drop their full bodies and queue their work. The leader Lease
(controller/leadership.py) keeps the cluster-wide duties. Without --sharding, a replica owns a
namespace exactly while it leads: nothing changes.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from ironflow import metrics
from ironflow.controller.leadership import ElectionOptions, Leadership
from ironflow.core.shares import Member, Membership, member_lease_name, renewed_member
from ironflow.k8s.async_client import ApiError, Kube, NotLeading, namespace_of
from ironflow.k8s.lease import LostRace, delete_member, get_member, list_members, write_member

logger = logging.getLogger("ironflow.shares")
ChangeHook = Callable[[set[str], set[str]], Any]  # (gained, lost) namespaces


class Shares:
    """This replica's share; `owns` is the write permission, checked before every namespaced write."""

    def __init__(self, kube: Kube, namespace: str, options: ElectionOptions, leadership: Leadership,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)) -> None:
        self.kube, self.namespace, self.options, self.leadership = kube, namespace, options, leadership
        self.enabled = options.sharding
        self.replica = options.replica_id
        self.lease = member_lease_name(options.lease_name, options.replica_id)
        self.membership = Membership(options.replica_id, options.lease_duration, options.renew_deadline)
        self._clock, self._wall = clock, wall
        self._record: Member | None = None
        self._owned: frozenset[str] = frozenset()
        self._hooks: list[ChangeHook] = []
        self._stopping = False
        self.paused: str | None = None  # why nothing is written (core/share_gate.py), at the last recompute
        # The last renewal / list succeeded: the first failure after a success is a warning.
        self._renewing = self._listed = True
        # What the share is counted over; the runtime sets both (served namespaces, cached resources).
        self.candidates: Callable[[], Iterable[str]] = lambda: ()
        self.resources_in: Callable[[str], int] = lambda _namespace: 0
        self.serves: Callable[[str], bool] = lambda _namespace: True

    def guard(self, path: str) -> None:
        """Kube.write_guard with sharding: a served namespace's writes need its share; everything
        else (cluster-scoped, the operator namespace, a namespace not served) needs the leader."""
        namespace = namespace_of(path)
        if namespace is not None and self.serves(namespace) and self.owns(namespace):
            return
        if self.leadership.is_leading() and (namespace is None or namespace == self.namespace
                                             or not self.serves(namespace)):
            return
        raise NotLeading()

    def owns(self, namespace: str) -> bool:
        if not self.enabled:
            return self.leadership.is_leading()
        now = self._clock()
        return self.leadership.share_pause(now) is None and self.membership.may_write(namespace, now)

    def clock(self) -> float:
        return self._clock()

    def owned(self) -> frozenset[str]:
        """The namespaces owned at the last recompute (what the gain/loss callbacks were told)."""
        return self._owned

    def on_change(self, hook: ChangeHook) -> None:
        """`hook(gained, lost)` after every recompute that moved namespaces."""
        self._hooks.append(hook)

    async def run(self) -> None:
        if not self.enabled:
            return
        logger.info("sharding: member Lease %s/%s as %s", self.namespace, self.lease, self.replica)
        await self._list()  # the first published view already counts the members there are
        while not self._stopping:
            await self.step()
            await asyncio.sleep(self.options.retry_period)

    async def step(self) -> None:
        """Renew our member Lease, list the members, then recompute the share. When the list
        changed the view, publish it and list again at once: a hand-over then takes one retry
        period less (the gaining side needs its new view published, then read back)."""
        if self._stopping:
            return
        await self._renew()
        await self._list()
        if self.membership.view(self._clock()) | {self.replica} != self.membership.published:
            await self._renew()
            await self._list()
        self.recompute()

    async def _renew(self) -> None:
        started = self._clock()
        view = self.membership.view(started) | {self.replica}
        owned = self._owned
        wanted = renewed_member(self._record, self.lease, self.replica,
                                math.ceil(self.options.lease_duration), self._wall(), view, len(owned),
                                sum(self.resources_in(n) for n in owned), self.options.pod)
        try:
            async with asyncio.timeout(self.options.renew_deadline / 2):
                written = await write_member(self.kube, self.namespace, self.options.lease_name, wanted,
                                             self.options.pod)
        except LostRace:  # written by someone else (a restarted process with our id?): read it again
            await self._reread()
            return
        except (ApiError, TimeoutError) as exc:
            if isinstance(exc, ApiError) and exc.status == 404:
                self._record = None  # deleted under us: create it again next time
            if not isinstance(exc, ApiError) or exc.transient:
                self.membership.unpublished()  # it may have been written all the same
            (logger.warning if self._renewing else logger.debug)(
                "member Lease renewal failed (%s): this replica writes no namespace until one succeeds", exc)
            self._renewing = False
            return
        self._record, self._renewing = written, True
        if not self._stopping:
            self.membership.renewed(started, self._clock(), written.view)

    async def _reread(self) -> None:
        try:
            async with asyncio.timeout(self.options.renew_deadline / 2):
                self._record = await get_member(self.kube, self.namespace, self.lease)
        except (ApiError, TimeoutError) as exc:
            logger.debug("reading the member Lease failed: %s", exc)

    async def _list(self) -> None:
        started = self._clock()
        try:
            async with asyncio.timeout(self.options.renew_deadline / 2):
                members = await list_members(self.kube, self.namespace, self.options.lease_name)
        except (ApiError, TimeoutError) as exc:  # the others stay as last seen: this replica gains nothing
            (logger.warning if self._listed else logger.debug)("listing the member Leases failed: %s", exc)
            self._listed = False
            return
        self._listed = True
        self.membership.listed(started, self._clock(), members, self._wall())

    def recompute(self) -> None:
        """Which namespaces this replica owns now; tell the hooks what moved."""
        now = self._clock()
        paused = self.leadership.share_pause(now)
        if paused != self.paused:
            if paused is not None:
                logger.warning("sharding: this replica writes no namespace: %s", paused)
            elif self.paused is not None:
                logger.info("sharding: the leader Lease is held by a replica that shards; writing the share")
            self.paused = paused
        metrics.SHARE_PAUSED.set(0 if paused is None else 1)
        owned = frozenset() if paused is not None else frozenset(
            n for n in self.candidates() if self.membership.may_write(n, now))
        gained, lost = set(owned - self._owned), set(self._owned - owned)
        self._owned = owned
        metrics.SHARE_NAMESPACES.set(len(owned))
        metrics.SHARE_RESOURCES.set(sum(self.resources_in(n) for n in owned))
        metrics.SHARE_REPLICAS.set(len(self.membership.view(now)))
        if not gained and not lost:
            return
        metrics.SHARE_HANDOVERS.labels(direction="gained").inc(len(gained))
        metrics.SHARE_HANDOVERS.labels(direction="released").inc(len(lost))
        logger.info("share changed: gained %d namespace(s), released %d; now %d, %d live replica(s)",
                    len(gained), len(lost), len(owned), len(self.membership.view(now)))
        for hook in list(self._hooks):
            try:
                hook(gained, lost)
            except Exception:
                logger.exception("a share-change hook failed")

    async def release(self) -> None:
        """On shutdown: stop writing now, then delete our member Lease so the others need not wait."""
        self._stopping = True
        self.membership.expire()
        if not self.enabled:
            return
        self.recompute()
        if self._record is None:
            return
        try:
            async with asyncio.timeout(self.options.retry_period):
                await delete_member(self.kube, self.namespace, self._record)
            self._record = None  # a second call (SIGTERM, then the final stop) has nothing to do
            logger.info("deleted the member Lease %s/%s", self.namespace, self.lease)
        except (ApiError, LostRace, TimeoutError) as exc:
            logger.warning("could not delete the member Lease (%s): the others take over when it expires",
                           exc)
