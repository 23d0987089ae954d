"""The projected Secrets and ConfigMaps as last seen, so a steady-state reconcile reads nothing.

Filled from the label-filtered drift watch the operator runs anyway (controller/drift.py), from
the answers to our own writes, and from the one GET a reconcile makes when an object is unknown
here (before the watch's initial listing is in, or for an object outside the watch). Only the
facts a reconcile compares are kept (an `Actual`: owner, label, data, versions), never the whole
body: no managedFields, no other annotations.

Entries are ordered by resourceVersion, so a late event or a write's answer can never replace a
newer state. A deletion leaves a small tombstone (known absent, with the deletion's version) while
the owning resource exists, so an answer that arrives after the DELETED event cannot bring the
object back to life here. A stale entry is harmless to the cluster: every write the projector
sends is conditional (a create fails if the object exists, a patch carries the resourceVersion it
was computed from), and a 409 makes the reconcile read the object once and decide again.

An object outside the watch (no managed-by label: someone else's, or our label removed) is never
kept: nothing would tell us when it changes, so it is read each time it matters.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ironflow.core.model import GROUP, SECRET_KIND, Kind
from ironflow.core.owners import controller_reference
from ironflow.core.projection import VERSIONS_ANNOTATION, Actual, labels, parse_versions

LISTING_WAIT_SECONDS = 30.0


def _rv(body: Mapping[str, Any]) -> int:
    try:
        return int((body.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


@dataclass(frozen=True)
class _Seen:
    actual: Actual  # Actual.absent() for a tombstone
    version: int


class ProjectedCache:
    """(CR kind, namespace, name) -> what the projected object of that resource holds.

    `synced` once the drift watch (controller/drift.py) has listed the labelled Secrets and
    ConfigMaps of every served namespace. From then on an object not held here is absent, unless
    it is marked unknown (someone else's object, or a write was refused): read it.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[Kind, str, str], _Seen] = {}
        self._unknown: set[tuple[Kind, str, str]] = set()
        self._listed = asyncio.Event()
        # Set when the operator runs the drift watch, so a list is coming: a reconcile started
        # before it waits for it (up to LISTING_WAIT_SECONDS) instead of reading each object.
        self.listing_expected = False

    @property
    def synced(self) -> bool:
        """A miss means absent: the drift watch's first lists are in."""
        return self._listed.is_set()

    def primed(self) -> None:
        self._listed.set()

    async def wait_listing(self) -> None:
        """Until the first lists are in, if they are coming; then reads fill what is still unknown."""
        if self.listing_expected and not self.synced:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listed.wait(), LISTING_WAIT_SECONDS)

    def names(self, kind: Kind, namespace: str | None = None) -> list[tuple[str, str]]:
        """(namespace, name) of every object held of this kind (in `namespace`, or everywhere)."""
        return [(ns, name) for (k, ns, name), seen in self._seen.items()
                if k == kind and seen.actual.exists and (namespace is None or ns == namespace)]

    def get(self, kind: Kind, namespace: str, name: str) -> Actual | None:
        """None: not known here (read it). Actual.absent(): known to be gone."""
        key = (kind, namespace, name)
        seen = self._seen.get(key)
        if seen is not None:
            return seen.actual
        return _ABSENT if self.synced and key not in self._unknown else None

    def put(self, kind: Kind, body: Mapping[str, Any]) -> None:
        """An object as the API server showed it (watch event or list, write answer, GET)."""
        actual = actual_from(kind, body)
        key = _key(kind, body)
        if not actual.labelled:  # outside the watch: nothing would keep an entry current
            self._seen.pop(key, None)
            self._unknown.add(key)
            return
        self._unknown.discard(key)
        self._keep(key, actual, _rv(body))

    def absent(self, kind: Kind, namespace: str, name: str) -> None:
        """A GET answered 404: absent, until any newer sight of it (version 0 loses to all)."""
        key = (kind, namespace, name)
        self._unknown.discard(key)
        self._keep(key, _ABSENT, 0)

    def deleted(self, kind: Kind, body: Mapping[str, Any], *, owner_exists: bool) -> None:
        """A DELETED watch event (deleted, or no longer labelled: the selector dropped it)."""
        key = _key(kind, body)
        if owner_exists:
            self._keep(key, _ABSENT, _rv(body))
        elif key in self._seen and self._seen[key].version <= _rv(body):
            del self._seen[key]

    def forget(self, kind: Kind, namespace: str, name: str) -> None:
        """Unknown now (a write was refused with 409 or 404): the next look reads it."""
        key = (kind, namespace, name)
        self._seen.pop(key, None)
        self._unknown.add(key)

    def drop(self, kind: Kind, namespace: str, name: str) -> None:
        """The owning resource is gone: keep nothing about its object."""
        key = (kind, namespace, name)
        self._seen.pop(key, None)
        self._unknown.discard(key)

    def _keep(self, key: tuple[Kind, str, str], actual: Actual, version: int) -> None:
        old = self._seen.get(key)
        if old is None or version >= old.version:
            self._seen[key] = _Seen(actual, version)

    def __len__(self) -> int:
        return len(self._seen)


_ABSENT = Actual.absent()


def _key(kind: Kind, body: Mapping[str, Any]) -> tuple[Kind, str, str]:
    meta = body.get("metadata") or {}
    return (kind, str(meta.get("namespace", "")), str(meta.get("name", "")))


def _decode(kind: Kind, data: Mapping[str, Any]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in data.items():
        if kind == SECRET_KIND:
            try:
                out[key] = base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                out[key] = b""  # unreadable: differs from anything we would write, so it is repaired
        else:
            out[key] = str(value).encode("utf-8")
    return out


def actual_from(kind: Kind, body: Mapping[str, Any] | None) -> Actual:
    """The facts of a projected object a reconcile compares with (None: the object is absent)."""
    if body is None:
        return Actual.absent()
    meta = body.get("metadata") or {}
    ref = controller_reference(meta, kind, GROUP)
    owner = None if ref is None else ref.get("uid")
    meta_labels = dict(meta.get("labels") or {})
    annotations = meta.get("annotations") or {}
    labelled = all(meta_labels.get(k) == v for k, v in labels().items())
    return Actual(exists=True, owner_uid=owner, labelled=labelled, data=_decode(kind, body.get("data") or {}),
                  resource_version=meta.get("resourceVersion"),
                  versions=parse_versions(annotations.get(VERSIONS_ANNOTATION)),
                  meta_labels=meta_labels,
                  meta_annotations={k: v for k, v in annotations.items() if k != VERSIONS_ANNOTATION},
                  secret_type=body.get("type") if kind == SECRET_KIND else None)
