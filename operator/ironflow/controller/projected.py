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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ironflow.core.model import CONFIG_KIND, GROUP, MANAGED_BY, MANAGED_BY_LABEL, SECRET_KIND, Kind
from ironflow.core.owners import controller_reference
from ironflow.core.projection import VERSIONS_ANNOTATION, Actual, labels, parse_versions
from ironflow.k8s.async_client import Kube
from ironflow.k8s.core_objects import list_labelled_objects

LISTING_WAIT_SECONDS = 30.0
PAGE = 500  # items per page of a gained namespace's lists
TARGETS: Mapping[Kind, str] = MappingProxyType({SECRET_KIND: "secrets", CONFIG_KIND: "configmaps"})
LABEL_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"


def _rv(body: Mapping[str, Any]) -> int:
    try:
        return int((body.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _everything(_namespace: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class _Seen:
    actual: Actual  # Actual.absent() for a tombstone
    version: int


@dataclass(frozen=True, slots=True)
class _Owned:
    """An object of a namespace this replica does not reconcile: only what admission asks (it
    exists, carries our label, and which resource controls it), not its values."""

    owner_uid: str | None
    version: int


_Entry = _Seen | _Owned


class ProjectedCache:
    """(CR kind, namespace, name) -> what the projected object of that resource holds.

    `synced` once the drift watch (controller/drift.py) has listed the labelled Secrets and
    ConfigMaps of every served namespace. From then on an object not held here is absent, unless
    it is marked unknown (someone else's object, or a write was refused): read it.

    Full facts (values included) are kept only where `keeps` says the replica reconciles; every
    replica answers admission everywhere, which needs only the owner. At 100,000 resources the
    values of every namespace on every replica were most of a replica's memory. A namespace
    gained is listed once (`take`) so its reconciles still read nothing; one lost is slimmed
    (`shed`).
    """

    def __init__(self, keeps: Callable[[str], bool] = _everything) -> None:
        self.keeps = keeps  # namespace -> whether full facts are kept (set once, at wiring)
        self._seen: dict[tuple[Kind, str], dict[str, _Entry]] = {}
        self._unknown: set[tuple[Kind, str, str]] = set()
        self._taking: set[str] = set()
        self._taken: set[str] = set()
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
        return [(ns, name) for (k, ns), entries in self._seen.items()
                if k == kind and (namespace is None or ns == namespace)
                for name, entry in entries.items() if _exists(entry)]

    def get(self, kind: Kind, namespace: str, name: str) -> Actual | None:
        """None: not known here in full (read it). Actual.absent(): known to be gone."""
        entry = self._seen.get((kind, namespace), {}).get(name)
        if isinstance(entry, _Seen):
            return entry.actual
        if entry is None and self.synced and (kind, namespace, name) not in self._unknown:
            return _ABSENT
        return None

    def owner_of(self, kind: Kind, namespace: str, name: str) -> str | None:
        """The uid of the resource controlling the object, if the watch saw it labelled as ours."""
        entry = self._seen.get((kind, namespace), {}).get(name)
        if isinstance(entry, _Owned):
            return entry.owner_uid
        if entry is not None and entry.actual.exists and entry.actual.labelled:
            return entry.actual.owner_uid
        return None

    def put(self, kind: Kind, body: Mapping[str, Any]) -> None:
        """An object as the API server showed it (watch event or list, write answer, GET)."""
        actual = actual_from(kind, body)
        namespace, name = _key(body)
        if not actual.labelled:  # outside the watch: nothing would keep an entry current
            self._seen.get((kind, namespace), {}).pop(name, None)
            self._unknown.add((kind, namespace, name))
            return
        self._unknown.discard((kind, namespace, name))
        version = _rv(body)
        if namespace in self._taking or self.keeps(namespace):
            self._keep(kind, namespace, name, _Seen(actual, version))
        else:
            self._keep(kind, namespace, name, _Owned(actual.owner_uid, version))

    def absent(self, kind: Kind, namespace: str, name: str) -> None:
        """A GET answered 404: absent, until any newer sight of it (version 0 loses to all)."""
        self._unknown.discard((kind, namespace, name))
        self._keep(kind, namespace, name, _Seen(_ABSENT, 0))

    def deleted(self, kind: Kind, body: Mapping[str, Any], *, owner_exists: bool) -> None:
        """A DELETED watch event (deleted, or no longer labelled: the selector dropped it)."""
        namespace, name = _key(body)
        if owner_exists:
            self._keep(kind, namespace, name, _Seen(_ABSENT, _rv(body)))
            return
        entries = self._seen.get((kind, namespace), {})
        if name in entries and entries[name].version <= _rv(body):
            del entries[name]

    def forget(self, kind: Kind, namespace: str, name: str) -> None:
        """Unknown now (a write was refused with 409 or 404): the next look reads it."""
        self._seen.get((kind, namespace), {}).pop(name, None)
        self._unknown.add((kind, namespace, name))

    def drop(self, kind: Kind, namespace: str, name: str) -> None:
        """The owning resource is gone: keep nothing about its object."""
        self._seen.get((kind, namespace), {}).pop(name, None)
        self._unknown.discard((kind, namespace, name))

    async def take(self, kube: Kube, namespace: str) -> None:
        """Full facts of a namespace from now on (call once `keeps` says so): one list per kind,
        so the reconciles of a namespace just gained compare with what they read nothing for."""
        self._taking.add(namespace)  # what arrives while listing is kept in full too
        try:
            for kind, plural in TARGETS.items():
                async for item in list_labelled_objects(kube, plural, namespace, LABEL_SELECTOR, limit=PAGE):
                    self.put(kind, item)
        finally:
            self._taking.discard(namespace)
        self._taken.add(namespace)

    def taken(self, namespace: str) -> bool:
        """Whether the namespace's full facts are complete here since a `take` (and not shed since)."""
        return namespace in self._taken

    def shed(self, namespace: str) -> None:
        """Keep only what admission asks of the namespace's objects (call once `keeps` says no)."""
        self._taken.discard(namespace)
        for kind in TARGETS:
            entries = self._seen.get((kind, namespace), {})
            for name, entry in list(entries.items()):
                if isinstance(entry, _Seen) and entry.actual.exists:
                    entries[name] = _Owned(entry.actual.owner_uid, entry.version)

    def _keep(self, kind: Kind, namespace: str, name: str, entry: _Entry) -> None:
        entries = self._seen.setdefault((kind, namespace), {})
        old = entries.get(name)
        if old is None or entry.version >= old.version:
            entries[name] = entry

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._seen.values())


def _exists(entry: _Entry) -> bool:
    return isinstance(entry, _Owned) or entry.actual.exists


_ABSENT = Actual.absent()


def _key(body: Mapping[str, Any]) -> tuple[str, str]:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


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
