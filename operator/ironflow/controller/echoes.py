"""The versions our own writes produced, so their watch echoes queue no reconcile.

A changed value costs two writes (the projected object, the status) and each comes back as a watch
event: the drift watch's for the object, kopf's for the status. Both used to queue the resource
again, so every change ran three reconciles, two of which decided, unsealed and compared only to
find what the first had just written. At 2,000 resources that was two thirds of the reconciles of
a change of every value, CPU the API server shares on a small host (docs/benchmarks.md).

An echo is recognised exactly: same object, same resourceVersion as the answer to our write. Such
an event holds precisely the state the writing reconcile produced, decided on the newest spec it
had; anything that happened since (a later edit, someone else's write, a sibling, a key change)
arrives as a different version or queues the resource by its own path.

The watch often delivers the echo before the HTTP answer names its version, the more so under
load. So a write is marked in flight before it is sent, and an event for that object while
it is in flight is held: the caches take its body as always, but whether it queues the resource is
decided at the answer. One held event carrying the answer's version was the echo; anything else
(another version, two events, a failed or cancelled write) queues the resource then. A held event
is never dropped: the answer, or the failure, always resolves it (`writing` resolves in `finally`).
Memory: one entry per object with a write in flight, and one version per object whose echo is
still to come (or was missed: replaced by the object's next write, forgotten with it); nothing
per event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

Key = tuple[str, str, str]  # (resource plural, namespace, name)


@dataclass
class _Flight:
    """The events seen while a write of one object is in flight: how many, and the last's version."""

    events: int = 0
    version: str | None = None


@dataclass
class Write:
    """Where a write in flight puts its answer's resourceVersion (None: it failed)."""

    version: object = None


class OwnWrites:
    """(resource plural, namespace, name) -> the resourceVersion our last write of it produced."""

    def __init__(self) -> None:
        self._versions: dict[Key, str] = {}
        self._flights: dict[Key, _Flight] = {}

    def sending(self, resource: str, namespace: str, name: str) -> None:
        """A write of the object is about to be sent. The queue runs one reconcile per resource at
        a time, so a write of the same object is never already in flight; if one were, its held
        events stay held and the first answer resolves them."""
        self._flights.setdefault((resource, namespace, name), _Flight())

    def wrote(self, resource: str, namespace: str, name: str, version: object) -> bool:
        """The write's answer (`version` None: it failed or was cancelled). True when an event held
        meanwhile was not its echo, so the resource must be queued now."""
        key = (resource, namespace, name)
        flight = self._flights.pop(key, None)
        answered = str(version) if version else None
        if flight is not None and flight.events == 1 and answered and flight.version == answered:
            return False  # the echo came first: nothing to record, nothing to queue
        if answered and (flight is None or flight.version != answered):  # its echo may still come
            self._versions[key] = answered
        return flight is not None and flight.events > 0

    def is_echo(self, resource: str, namespace: str, name: str, version: object) -> bool:
        """True once for the event that carries exactly the version an answered write produced."""
        key = (resource, namespace, name)
        if version and self._versions.get(key) == str(version):
            del self._versions[key]
            return True
        return False

    def hold(self, resource: str, namespace: str, name: str, version: object) -> bool:
        """True when a write of the object is in flight: the event queues nothing now, `wrote`
        says at the answer whether it must."""
        flight = self._flights.get((resource, namespace, name))
        if flight is None:
            return False
        flight.events += 1
        flight.version = str(version) if version else None
        return True

    @contextmanager
    def writing(self, resource: str, namespace: str, name: str,
                requeue: Callable[[], None]) -> Iterator[Write]:
        """Around one write: in flight from here; at the end, answered with the version the block
        put in the `Write` (or failed), and `requeue` called if a held event was not the echo."""
        self.sending(resource, namespace, name)
        write = Write()
        try:
            yield write
        finally:
            if self.wrote(resource, namespace, name, write.version):
                requeue()

    def forget(self, resource: str, namespace: str, name: str) -> None:
        self._versions.pop((resource, namespace, name), None)

    def __len__(self) -> int:
        return len(self._versions) + len(self._flights)
