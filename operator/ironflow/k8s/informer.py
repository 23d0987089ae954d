"""One list+watch for everything the operator follows itself rather than through kopf.

The namespaces, the projected Secrets and ConfigMaps, the master-key Secret: each needs the same
few rules, and each copy of them was a place to get one wrong. A paged list gives a consistent
starting point at its resourceVersion (a whole namespace of bodies is never one response in
memory); the watch from there, with bookmarks, reports every later change and keeps the version
current while nothing changes; a watch the server ends is resumed from the last version seen; a
410 (the version, or a list's continue token, fell out of what the server keeps) lists again at
once; any other failure lists again after a bounded exponential backoff. The consumer sees typed
changes: every listed object as an `Event` with `listed` set, a `Synced` after each complete list
(its keys tell a consumer holding older state what was deleted unseen), then the watch's events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ironflow.k8s.async_client import ApiError, Kube

PAGE: Final = 500  # items per page of a list
WATCH_SECONDS: Final = 240  # the server ends each watch after this long; it is resumed from where it was
FIRST_DELAY: Final = 1.0
MAX_DELAY: Final = 30.0
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
_TYPES: Final[dict[str, EventType]] = {"ADDED": "ADDED", "MODIFIED": "MODIFIED", "DELETED": "DELETED"}
_logger = logging.getLogger("ironflow.informer")


@dataclass(frozen=True)
class Event:
    """One object as a list held it (`listed`, always ADDED) or as the watch reported it."""

    type: EventType
    object: dict[str, Any]
    listed: bool = False


@dataclass(frozen=True)
class Synced:
    """A list is complete, every object in it delivered before this: (namespace, name) of each."""

    resource_version: str
    keys: frozenset[tuple[str, str]]


Change = Event | Synced


async def pages(kube: Kube, path: str, query: Mapping[str, str] | None = None,
                *, limit: int = PAGE) -> AsyncIterator[dict[str, Any]]:
    """Each page of a list in turn; the last one's metadata holds the list's resourceVersion."""
    page: dict[str, str] = {**(query or {}), "limit": str(limit)}
    while True:
        listing = await kube.request("GET", path, query=page)
        yield listing
        token = (listing.get("metadata") or {}).get("continue")
        if not token:
            return
        page = {**(query or {}), "limit": str(limit), "continue": str(token)}


async def list_items(kube: Kube, path: str, query: Mapping[str, str] | None = None,
                     *, limit: int = PAGE) -> AsyncIterator[dict[str, Any]]:
    """Every item of a list, fetched in pages of `limit`."""
    async for listing in pages(kube, path, query, limit=limit):
        for item in listing.get("items") or []:
            yield item


def without_continue(url: str) -> str | None:
    """The same list request from its first page; None when `url` carries no continue token.
    For a paged list whose token the API server compacted away (410 Expired) and whose pager is
    not ours (kopf's: controller/kopf_decoding.py)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in query if key != "continue"]
    if len(kept) == len(query):
        return None
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


class Informer:
    """`async for change in Informer(...)` runs until cancelled; `synced` is set once the first
    list has been taken in (the consumer asked for what follows its `Synced`)."""

    def __init__(self, kube: Kube, path: str, *, label_selector: str | None = None,
                 field_selector: str | None = None, limit: int = PAGE, watch_seconds: int = WATCH_SECONDS,
                 what: str | None = None, logger: logging.Logger = _logger) -> None:
        self.kube, self.path, self.limit, self.watch_seconds = kube, path, limit, watch_seconds
        self.query: dict[str, str] = {}
        if label_selector:
            self.query["labelSelector"] = label_selector
        if field_selector:
            self.query["fieldSelector"] = field_selector
        self.what = what or f"watching {path}"
        self.logger = logger
        self.synced = asyncio.Event()

    def __aiter__(self) -> AsyncIterator[Change]:
        return self.changes()

    async def changes(self) -> AsyncIterator[Change]:
        delay = FIRST_DELAY
        while True:
            try:
                since = ""
                async for change in self._list():
                    if isinstance(change, Synced):
                        since = change.resource_version
                    yield change
                self.synced.set()
                delay = FIRST_DELAY
                while True:  # each pass is one watch request, ended by the server after watch_seconds
                    async for raw in self.kube.watch(self.path, self.query, since,
                                                     timeout_seconds=self.watch_seconds):
                        kind, obj = str(raw.get("type")), raw.get("object") or {}
                        if kind == "ERROR":
                            raise ApiError(int(obj.get("code") or 0), str(obj.get("reason")), "watch expired")
                        since = str((obj.get("metadata") or {}).get("resourceVersion") or since)
                        typed = _TYPES.get(kind)
                        if typed is not None:  # a BOOKMARK only moves `since` on
                            yield Event(typed, obj)
            except ApiError as exc:
                if exc.status == 410:  # the watch's version or the list's continue token is too old
                    continue
                self.logger.warning("%s failed (%s); retrying in %.0fs", self.what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)

    async def _list(self) -> AsyncIterator[Change]:
        keys: set[tuple[str, str]] = set()
        version = ""
        async for listing in pages(self.kube, self.path, self.query, limit=self.limit):
            for item in listing.get("items") or []:
                keys.add(_key(item))
                yield Event("ADDED", item, listed=True)
            version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
        yield Synced(version, frozenset(keys))
