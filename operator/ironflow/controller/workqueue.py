"""A deduplicating work queue with per-key exclusivity and backoff, like client-go's.

kopf's event handlers are not retried and run per object; reconciles here are triggered by many
sources (the CR itself, its projected object, a sibling that gave up a name, the master key), so
they funnel through one queue: a key queued twice runs once, never runs concurrently with
itself, and a transient failure is retried with exponential backoff instead of being lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

logger = logging.getLogger("ironflow.queue")
K = TypeVar("K", bound=Hashable)
Handler = Callable[[K], Awaitable[None]]


class WorkQueue(Generic[K]):
    def __init__(self, base_delay: float = 0.5, max_delay: float = 60.0) -> None:
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._dirty: set[K] = set()
        self._failures: dict[K, int] = {}
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._parked: set[K] = set()  # keys whose timer is a periodic re-check, not a retry
        self._base, self._max = base_delay, max_delay

    def add(self, key: K) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._parked.discard(key)
        if key in self._active:
            self._dirty.add(key)  # run again once the current run ends, with the newest state
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        if key in self._timers or key in self._queued:
            return
        self._timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)

    def park(self, key: K, delay: float) -> None:
        """Look at `key` again after `delay`, as a re-check, not as pending work.

        For a resource that waits on something outside the operator's control (an object it does
        not own), so `depth` returns to zero once everything that can be done is done."""
        if key in self._timers or key in self._queued:
            return
        self._parked.add(key)
        self.add_after(key, delay)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def retry(self, key: K) -> float:
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        delay = float(min(self._max, self._base * 2.0 ** (failures - 1)))
        self.add_after(key, delay)
        return delay

    def holds(self, key: K) -> bool:
        """Whether `key` is queued, running, or waiting for a retry or re-check."""
        return key in self._queued or key in self._active or key in self._timers

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    @property
    def depth(self) -> int:
        """Queued, running and waiting-to-retry keys: zero means the operator has caught up.

        Parked keys (periodic re-checks) are not counted: they are waiting, not work."""
        return len(self._queued | self._active | (set(self._timers) - self._parked))

    def idle(self) -> bool:
        return self.depth == 0

    async def worker(self, handle: Handler[K]) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                await handle(key)
            except asyncio.CancelledError:
                raise
            except Exception:  # the handler reports its own errors; this only keeps the worker alive
                logger.exception("reconcile of %s crashed; retrying", key)
                self.retry(key)
            finally:
                self._active.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.add(key)
