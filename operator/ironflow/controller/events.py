"""Posting Events about a resource ourselves (kopf's log-to-Event posting is switched off).

Events are only posted for outcome transitions the projection reports, so an unchanged resource
costs no Event writes. A failed post is logged and dropped: an Event is a notice, and retrying it
must never hold back the reconcile that produced it.

For the same reason a reconcile does not wait for its Events: `EventPoster` sends them beside the
reconciles, so a reconcile costs the round trips of its projection and status writes only (an
Event create is one more etcd commit per resource on a cold start, a third of its latency). The
number in flight is bounded (a reconcile waits for a free slot, so a slow API server slows the
reconciles instead of piling up tasks), the timestamps are those of the decision, and a stop
drains what is in flight with a deadline.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import socket

from ironflow.core.conditions import Event
from ironflow.core.model import API_VERSION, Resource
from ironflow.k8s.async_client import ApiError, Kube
from ironflow.k8s.events import create_event
from ironflow.metrics import API_WRITES

logger = logging.getLogger("ironflow.events")
COMPONENT = "ironflow-operator"
_HOST = socket.gethostname()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def post(kube: Kube, resource: Resource, event: Event, now: str | None = None) -> None:
    now = now or _now()
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{resource.name}.", "namespace": resource.namespace},
        "involvedObject": {"apiVersion": API_VERSION, "kind": resource.kind, "name": resource.name,
                           "namespace": resource.namespace, "uid": resource.uid},
        "reason": event.reason,
        "message": event.message,
        "type": event.type,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": _HOST,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    try:
        await create_event(kube, resource.namespace, body)
        API_WRITES.labels(resource="events", verb="create").inc()
    except ApiError as exc:
        logger.warning("could not post %s Event %s for %s %s/%s: %s", event.type, event.reason,
                       resource.kind, resource.namespace, resource.name, exc)


class EventPoster:
    """Events sent beside the reconciles, at most `limit` in flight (see the module docstring)."""

    def __init__(self, kube: Kube, limit: int = 32) -> None:
        self._kube = kube
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    async def post(self, resource: Resource, event: Event) -> None:
        """Returns once the Event is on its way (or after waiting for a free slot)."""
        now = _now()
        await self._slots.acquire()
        task = asyncio.create_task(self._send(resource, event, now), name=f"event {event.reason}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, resource: Resource, event: Event, now: str) -> None:
        try:
            await post(self._kube, resource, event, now)
        finally:
            self._slots.release()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self, deadline: float) -> None:
        """Wait up to `deadline` seconds for the Events in flight; the rest is cancelled (notices lost)."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=deadline)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            logger.warning("stopping: %d Event(s) not posted in time", len(late))
