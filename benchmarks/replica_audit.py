"""Which replica wrote where and when, from the audit log: the scale benchmark's safety figures.

Every replica of one release writes as the same user, so the audit log tells them apart only by
the User-Agent each sends: `ironflow-operator/<version> (replica <id>)`, and for kopf's requests
`kopf/<version> (replica <id>)`. Two figures come from that: namespaces written by two replicas
in overlapping windows (must be 0: a namespace has one writer at a time) and, after a replica is
killed, how long until another replica writes in each of the namespaces it had been writing
(served again). A replica's window in a namespace is the span of its writes there, split where
it paused longer than `gap` seconds: a namespace handed from A to B and later back to A then
gives two windows of A around B's, not one spanning it. The reader keeps only write instants
per (namespace, replica), never the records.
"""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from audit_stream import WRITES, AuditCounter

UNNAMED = "(no replica id)"
_AGENT = re.compile(r"\(replica (?P<id>[^)]+)\)")

Window = tuple[float, float]
Writes = Mapping[tuple[str, str], Iterable[Window]]  # (namespace, replica) -> (received, answered) each


def replica_of(user_agent: str) -> str:
    """The replica id a User-Agent names (the operator's own client and kopf's both carry
    "(replica <id>)"); UNNAMED for an agent without one."""
    match = _AGENT.search(user_agent)
    return match["id"] if match else UNNAMED


def windows(writes: Iterable[Window], gap: float) -> list[Window]:
    """Spans of activity: writes (received, answered) joined while the next one arrives at most
    `gap` seconds after the span's last answer."""
    spans: list[Window] = []
    for start, end in sorted(writes):
        if spans and start - spans[-1][1] <= gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def overlapping_namespaces(writes: Writes, gap: float) -> dict[str, set[str]]:
    """Namespace -> the replicas whose windows there intersect another replica's window."""
    by_namespace: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for (namespace, replica), spans in writes.items():
        by_namespace[namespace].extend((a, b, replica) for a, b in windows(spans, gap))
    found: dict[str, set[str]] = {}
    for namespace, spans in by_namespace.items():
        spans.sort()
        reach, holder = float("-inf"), ""  # the furthest end seen so far and whose window it is
        for start, end, replica in spans:
            if start <= reach and replica != holder:
                found.setdefault(namespace, set()).update((replica, holder))
            if end > reach:
                reach, holder = end, replica
    return found


def served_again(writes: Writes, killed: str, since: float, kill_at: float) -> dict[str, float | None]:
    """For each namespace `killed` wrote in between `since` and `kill_at`: seconds from the kill to
    the first write there by another replica (None: nobody wrote there after the kill)."""
    theirs = {
        ns
        for (ns, r), spans in writes.items()
        if r == killed and any(since <= t <= kill_at for t, _ in spans)
    }
    result: dict[str, float | None] = dict.fromkeys(theirs)
    for (namespace, replica), spans in writes.items():
        if namespace in result and replica not in (killed, UNNAMED):
            after = [t - kill_at for t, _ in spans if t > kill_at]
            if after:
                first = min(after)
                current = result[namespace]
                result[namespace] = first if current is None else min(current, first)
    return result


def writes_by_replica(writes: Writes, since: float, until: float) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for (_, replica), spans in writes.items():
        counts[replica] += sum(1 for t, _ in spans if since <= t <= until)
    return dict(counts)


def timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class ReplicaWrites(AuditCounter):
    """An AuditCounter (counts by verb and resource, for operator_bench.Phases) that also keeps,
    for successful writes in namespaces starting with `prefix`, when each replica's request
    arrived and when it was answered (flat arrays of pairs: a million writes in 16 MB)."""

    def __init__(self, path: Path, user: str, prefix: str) -> None:
        super().__init__(path, user)
        self.prefix = prefix
        self._pairs: dict[tuple[str, str], array[float]] = defaultdict(lambda: array("d"))

    def take(self, record: dict[str, Any]) -> None:
        super().take(record)
        namespace = str((record.get("objectRef") or {}).get("namespace") or "")
        succeeded = 200 <= int((record.get("responseStatus") or {}).get("code") or 0) < 300
        if record.get("verb") in WRITES and succeeded and namespace.startswith(self.prefix):
            pairs = self._pairs[(namespace, replica_of(str(record.get("userAgent") or "")))]
            pairs.extend((timestamp(record["requestReceivedTimestamp"]), timestamp(record["stageTimestamp"])))

    def spans(self) -> dict[tuple[str, str], list[Window]]:
        """What the log holds so far, as (received, answered) per write."""
        self.refresh()
        return {k: list(zip(v[::2], v[1::2], strict=True)) for k, v in self._pairs.items()}
