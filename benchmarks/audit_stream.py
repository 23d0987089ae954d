"""Counting one user's API requests in the audit log without holding the log in memory.

`ironflow_testbed.audit.AuditLog` keeps every parsed record; a 10,000-resource run writes more
than 4 GB of audit log, so the benchmark reads it here instead: incrementally (each call reads
only what was appended since the last one), line by line, parsing only lines that name the user,
keeping nothing but counts.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from ironflow_testbed.audit import AuditLog

WRITES = frozenset(("create", "update", "patch", "delete", "deletecollection"))
READS = frozenset(("get", "list"))
_CHUNK = 16 << 20


def key(record: dict[str, object]) -> str:
    """ "verb resource[/subresource]"; a request without an object (discovery) by its path."""
    ref = record.get("objectRef")
    if not isinstance(ref, dict) or not ref.get("resource"):
        return f"{record.get('verb')} {str(record.get('requestURI', '?')).split('?')[0]}"
    sub = ref.get("subresource")
    return f"{record.get('verb')} {ref['resource']}{'/' + str(sub) if sub else ''}"


class AuditCounter:
    """Completed requests of one user, by "verb resource[/subresource]", counted as the log grows."""

    def __init__(self, path: Path, user: str) -> None:
        self.path, self.user = path, user
        self._needle = json.dumps(user).encode()
        self._offset = 0
        self.counts: Counter[str] = Counter()

    def refresh(self) -> Counter[str]:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return Counter(self.counts)
        with handle:
            handle.seek(self._offset)
            tail = b""
            while chunk := handle.read(_CHUNK):
                data = tail + chunk
                end = data.rfind(b"\n") + 1
                self._count(data[:end])
                self._offset += end
                tail = data[end:]
        return Counter(self.counts)

    def _count(self, data: bytes) -> None:
        for line in data.split(b"\n"):
            if self._needle not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("stage") != "ResponseComplete":
                continue
            if (record.get("user") or {}).get("username") != self.user:
                continue
            self.take(record)

    def take(self, record: dict[str, Any]) -> None:
        """One completed request of the user: counted here; a subclass may keep more of it."""
        self.counts[key(record)] += 1

    def writes(self) -> Counter[str]:
        return Counter({k: v for k, v in self.refresh().items() if k.split()[0] in WRITES})

    def reads(self) -> Counter[str]:
        return Counter({k: v for k, v in self.refresh().items() if k.split()[0] in READS})


def total(counter: Counter[str]) -> int:
    return sum(counter.values())


class TailAudit(AuditLog):
    """An `AuditLog` that starts at the log's current end: it holds only what comes after.

    For the admission phase, which wants `AuditLog`'s records, at the end of a run whose log
    is gigabytes long."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
        self._inode, self._offset = stat.st_ino, stat.st_size
