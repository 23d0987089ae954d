"""kopf's persistence kept in memory, so kopf can never write its state onto an object.

The operator's own handlers are watch-event handlers and need no storage at all; these classes
make the guarantee structural: even a change handler added later (on Secrets or anything else)
cannot leave a `last-handled-configuration` annotation (which would hold a Secret's data) or
progress records on a resource. The price, accepted on purpose: such a handler would see every
object as new after a restart (kopf's "resume"), and its retries would wait for the next event
instead of being triggered by a dummy patch.
"""

from __future__ import annotations

import copy
from typing import Any

import kopf


def _uid(body: Any) -> str:
    return str(body.get("metadata", {}).get("uid", ""))


class MemoryDiffBaseStorage(kopf.DiffBaseStorage):
    def __init__(self) -> None:
        super().__init__()
        self._essences: dict[str, Any] = {}

    def fetch(self, *, body: Any) -> Any:
        return self._essences.get(_uid(body))

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        self._essences[_uid(body)] = copy.deepcopy(essence)


class MemoryProgressStorage(kopf.ProgressStorage):
    def __init__(self) -> None:
        super().__init__()
        self._records: dict[str, dict[str, Any]] = {}

    def fetch(self, *, key: Any, body: Any) -> Any:
        return self._records.get(_uid(body), {}).get(str(key))

    def store(self, *, key: Any, record: Any, body: Any, patch: Any) -> None:
        self._records.setdefault(_uid(body), {})[str(key)] = copy.deepcopy(record)

    def purge(self, *, key: Any, body: Any, patch: Any) -> None:
        self._records.get(_uid(body), {}).pop(str(key), None)

    def touch(self, *, body: Any, patch: Any, value: str | None) -> None:
        return None

    def clear(self, *, essence: Any) -> Any:
        return copy.deepcopy(essence)
