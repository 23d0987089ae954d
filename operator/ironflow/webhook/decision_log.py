"""Admission decisions in the log, without letting a caller flood it or forge lines in it.

Every decision is worth a line at DEBUG; at INFO (the default) a burst of refusals from one bad
Deployment, or a caller hammering the port, must not drown the operator's log or fill its disk.
So at most `per_window` decisions per `window` seconds are logged at their level; the rest go to
DEBUG only and are counted, and the count is reported (one line) with the first decision logged
after the window. The limit is global, not per namespace or pod: a key from request data would
itself be unbounded state. Every text argument is escaped (core/log_text.py), so a namespace or
annotation with a newline cannot start a forged line, whatever the log format.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from ironflow.core.log_text import escape_control

PER_WINDOW: Final = 30
WINDOW_SECONDS: Final = 10.0


class DecisionLog:
    def __init__(
        self,
        logger: logging.Logger,
        per_window: int = PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._per_window = per_window
        self._window = window
        self._clock = clock
        self._started = clock()
        self._logged = 0
        self._suppressed = 0

    def log(self, level: int, message: str, *args: object) -> None:
        safe = tuple(escape_control(a) if isinstance(a, str) else a for a in args)
        if not self._log.isEnabledFor(level):
            return
        now = self._clock()
        if now - self._started >= self._window:
            if self._suppressed:
                self._log.log(
                    level, "%d admission decisions were logged at DEBUG only in the last %.0f s (rate limit)",
                    self._suppressed, now - self._started,
                )
            self._started, self._logged, self._suppressed = now, 0, 0
        if self._logged < self._per_window:
            self._logged += 1
            self._log.log(level, message, *safe)
        else:
            self._suppressed += 1
            self._log.debug(message, *safe)
