"""How many resources are current, kept from one watch per kind instead of a list per poll.

The audit log records every list with its full response: polling 100,000 resources by listing
them every 20 s writes about 200 MB of audit log per poll and a run of an hour fills the disk.
A watch's events are not recorded, so this follows one cluster-wide watch per kind (after one
list for the start) and answers from what it holds: per resource its generation and whether it
is Ready at that generation. A watch that ends is resumed from the last resourceVersion seen; one
that cannot be resumed (410 Gone) starts over with a list.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from kubernetes import client, watch
from operator_bench import GROUP, PLURALS, VERSION, is_ready
from scale_cluster import pages


class ReadyTracker:
    def __init__(self, api: client.ApiClient) -> None:
        self.custom = client.CustomObjectsApi(api)
        self._held: dict[tuple[str, str, str], tuple[int, bool]] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._follow, args=(p,), daemon=True) for p in PLURALS.values()
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """The threads end at their watch's next event or timeout (daemons: they never hold up exit)."""
        self._stopped.set()

    def current(self, generation: int) -> int:
        """Resources Ready and observed at their generation, which is `generation` or later."""
        with self._lock:
            return sum(1 for seen, ok in self._held.values() if ok and seen >= generation)

    def _put(self, plural: str, item: dict[str, Any], deleted: bool = False) -> None:
        meta = item["metadata"]
        key = (plural, meta["namespace"], meta["name"])
        status = item.get("status") or {}
        with self._lock:
            if deleted:
                self._held.pop(key, None)
            else:
                ok = status.get("observedGeneration") == meta["generation"] and is_ready(item)
                self._held[key] = (meta["generation"], ok)

    def _list(self, plural: str) -> str:
        """Everything of `plural` read in pages; the resourceVersion to watch from."""
        version = ""
        for page in pages(self.custom.list_cluster_custom_object, GROUP, VERSION, plural):
            for item in page["items"]:
                self._put(plural, item)
            version = str(page["metadata"]["resourceVersion"])
        return version

    def _follow(self, plural: str) -> None:
        version = ""
        while not self._stopped.is_set():
            with contextlib.suppress(Exception):  # the plane stopping, a 410: list again
                version = version or self._list(plural)
                stream = watch.Watch().stream(
                    self.custom.list_cluster_custom_object,
                    GROUP,
                    VERSION,
                    plural,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=60,
                )
                for event in stream:
                    if event["type"] == "ERROR":
                        version = ""
                        break
                    version = event["object"]["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        self._put(plural, event["object"], deleted=event["type"] == "DELETED")
                continue
            version = ""
            self._stopped.wait(1)
