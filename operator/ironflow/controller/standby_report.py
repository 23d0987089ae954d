"""What a standby replica says about the Lease it waits for: in its log (rate limited) and /readyz.

A standby writes nothing, so without this a replica that never leads looks healthy and idle while
nothing is projected and, on a fresh install, no webhook certificate is ever issued: the typical
cause is another operator (`make run`, a second release) holding the Lease. So a standby says who
holds it, for how long, and, when it runs in a pod of a release, whether the holder is one of its
own release's pods: "another operator outside this release holds the lease" is the line to find.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from typing import Final

from ironflow.core.lease import HolderPod, LeaseRecord, span

logger = logging.getLogger("ironflow.leadership")
REPORT_EVERY: Final = 60.0  # seconds between two log lines about an unchanged holder


class StandbyReport:
    def __init__(self, namespace: str, lease_name: str, own: HolderPod | None,
                 wall: Callable[[], datetime.datetime], clock: Callable[[], float] = time.monotonic,
                 every: float = REPORT_EVERY) -> None:
        self.lease = f"{namespace}/{lease_name}"
        self.own, self._wall, self._clock, self.every = own, wall, clock, every
        self.text: str | None = None  # None while this replica leads or nobody holds the Lease
        self._logged: tuple[str, float] | None = None  # (holder, when) of the last log line

    def outsider(self, record: LeaseRecord) -> bool:
        """The holder is not a pod of this replica's release (only a replica in a pod can tell)."""
        if self.own is None:
            return False
        pod = record.holder_pod
        return pod is None or (pod.namespace, pod.release) != (self.own.namespace, self.own.release)

    def describe(self, record: LeaseRecord, unchanged: float, wait: float, gone: bool) -> str:
        acquired = record.acquire_time
        held = f", holding it for {span((self._wall() - acquired).total_seconds())}" if acquired else ""
        where = (record.holder_pod.describe() if record.holder_pod else
                 "names no pod: `make run`, or a replica of a version that does not name its pod")
        renewal = ("its pod is gone: taking over" if gone else
                   f"last renewal seen {span(unchanged)} ago, take-over after {span(wait)} without one")
        facts = f"{record.holder} ({where}{held}; {renewal})"
        if self.outsider(record):
            assert self.own is not None
            release = self.own.release or "?"
            return (f"another operator outside this release holds the lease {self.lease}: {facts}. "
                    f"This replica (release {release}) stands by: it projects nothing and issues no "
                    f"webhook certificate until that operator stops or its Lease expires")
        return f"standing by: the leader Lease {self.lease} is held by {facts}"

    def standing_by(self, record: LeaseRecord, unchanged: float, wait: float, gone: bool) -> None:
        self.text = self.describe(record, unchanged, wait, gone)
        now = self._clock()
        last = self._logged
        if last is not None and last[0] == record.holder and now - last[1] < self.every:
            return
        self._logged = (record.holder, now)
        logger.log(logging.WARNING if self.outsider(record) else logging.INFO, "%s", self.text)

    def leading(self) -> None:
        self.text, self._logged = None, None
