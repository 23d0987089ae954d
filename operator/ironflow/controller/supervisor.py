"""Every long-running task of the operator runs under one supervisor, so none can end unseen.

A watch loop handles the API errors it expects (a 410, a refused list) itself. What it does not
expect (a body of a shape nobody foresaw, a bug) used to end the task silently while the process
kept answering /healthz and /readyz: one stored object once switched off master-key tracking
until the operator was restarted by hand. Here such an exception is logged with its traceback,
counted (`ironflow_task_restarts_total{task}`, the task's name only) and the task is started
again after a bounded backoff. A task that fails FAILING_AFTER times in a row, each time before
it ran HEALTHY_AFTER seconds, is reported: /readyz (or /healthz, for a task whose cure is a new
process) names it and the exception's type, never its message, which might quote a value.
A task that ends without an exception is restarted too, unless it was started as one that
completes (a one-off listing, a static namespace list).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from ironflow import metrics

logger = logging.getLogger("ironflow.supervisor")
FAILING_AFTER: Final = 3  # consecutive quick failures before the task is reported as failing
HEALTHY_AFTER: Final = 60.0  # seconds a restarted task must run to count as recovered
BASE_DELAY: Final = 1.0
MAX_DELAY: Final = 30.0

TaskFactory = Callable[[], Awaitable[None]]


@dataclass
class _Record:
    failures: int = 0  # consecutive failures, each within HEALTHY_AFTER of its start
    problem: str | None = None  # set once the task counts as failing
    liveness: bool = False  # report it on /healthz (a restart of the process is the cure)


@dataclass
class Supervisor:
    base_delay: float = BASE_DELAY
    max_delay: float = MAX_DELAY
    failing_after: int = FAILING_AFTER
    healthy_after: float = HEALTHY_AFTER
    _records: dict[str, _Record] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, name: str, factory: TaskFactory, *, completes: bool = False,
              liveness: bool = False) -> asyncio.Task[None]:
        """Run `factory()` as task `name` until cancelled (or, with `completes`, until it returns)."""
        self._records[name] = _Record(liveness=liveness)
        metrics.TASK_RESTARTS.labels(task=name)  # the series exists from the start, at 0
        task = asyncio.create_task(self._run(name, factory, completes), name=name)
        self._tasks.append(task)
        return task

    async def _run(self, name: str, factory: TaskFactory, completes: bool) -> None:
        record = self._records[name]
        while True:
            started = time.monotonic()
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                problem = f"{type(exc).__name__} (restarted {{n}} time(s))"
                logger.exception("task %s failed; restarting it", name)
            else:
                if completes:
                    record.failures, record.problem = 0, None
                    return
                problem = "ended unexpectedly (restarted {n} time(s))"
                logger.error("task %s ended without being stopped; restarting it", name)
            if time.monotonic() - started >= self.healthy_after:
                record.failures = 0
            record.failures += 1
            metrics.TASK_RESTARTS.labels(task=name).inc()
            if record.failures >= self.failing_after:
                record.problem = problem.format(n=record.failures)
            delay = min(self.max_delay, self.base_delay * 2.0 ** (record.failures - 1))
            await asyncio.sleep(delay)
            self._recover_later(name, record)

    def _recover_later(self, name: str, record: _Record) -> None:
        """Clear the report once the restarted task has run HEALTHY_AFTER without failing again."""
        failures = record.failures

        def recovered() -> None:
            if record.failures == failures and record.problem is not None:
                logger.info("task %s has run %.0fs since its restart: no longer failing", name,
                            self.healthy_after)
                record.problem = None

        asyncio.get_running_loop().call_later(self.healthy_after, recovered)

    def failing(self, *, liveness: bool = False) -> dict[str, str]:
        """Tasks reported as failing (name -> the exception's type and restarts); with `liveness`,
        only those whose cure is a restart of the process."""
        return {name: record.problem for name, record in sorted(self._records.items())
                if record.problem is not None and (record.liveness or not liveness)}

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
