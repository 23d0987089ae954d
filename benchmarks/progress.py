"""Where a benchmark of hours is, on stderr: a line when a step begins and ends, and about once a
minute while it waits, so someone watching a 100,000-resource run sees it move (or stick).

The counts come from what the wait already holds (bench-scale's ReadyTracker, the peer's own
poll): reporting adds no request to the API server. The tables never read these lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    def __init__(
        self,
        label: str,
        every: float = 60.0,
        out: TextIO | None = sys.stderr,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`out=None`: silent (make bench drives the peer without watching it)."""
        self.label, self.every, self.out, self.clock, self.wall = label, every, out, clock, wall

    def line(self, text: str) -> None:
        if self.out is not None:
            at = time.strftime("%H:%M:%SZ", time.gmtime(self.wall()))
            print(f"{at} [bench-scale {self.label}] {text}", file=self.out, flush=True)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """`what` begins; it ends done or with the exception that ended it, after how long."""
        started = self.clock()
        self.line(f"{what}: begins")
        try:
            yield
        except BaseException as ended:
            self.line(f"{what}: ended by {type(ended).__name__} {ended}, {self.clock() - started:,.0f} s")
            raise
        self.line(f"{what}: done, {self.clock() - started:,.0f} s")

    def waiting(self, what: str, count: Callable[[], int], total: int, state: str) -> Callable[[], bool]:
        """A predicate for operator_bench.wait: `count()` reached `total`, told every `every` seconds
        (and once when it is reached) as "cold start: 12,345 of 100,000 Ready, 312 s"."""
        started = last = self.clock()

        def done() -> bool:
            nonlocal last
            now, reached = self.clock(), count()
            if now - last >= self.every or reached >= total:
                last = now
                self.line(f"{what}: {reached:,} of {total:,} {state}, {now - started:,.0f} s")
            return reached >= total

        return done


def replicas_label(replicas: int) -> str:
    return f"{replicas} replica{'s' if replicas > 1 else ''}"
