"""The operator's cache of IronflowSecrets and IronflowConfigs: an admission index of every served
namespace, and full bodies of the namespaces this replica reconciles.

The bodies exist so that a change to one resource can re-reconcile its siblings (a name handed
over after the older definer dropped it) and a master-key change can re-reconcile everything,
without listing the cluster each time. The index (core/admission_index.py: per resource the names
it defines, its order, uid and status facts, never a value) exists so that every replica answers
admission for every served namespace, whichever replica reconciles it. Both are filled from
kopf's watch events and primed per namespace by one list, so oldest-definition-wins is decided
on the whole environment even while kopf is still delivering the initial listing.

Which namespaces keep bodies is `keeps` (everything unless shares say otherwise). On gaining a
namespace, `take` lists it and keeps its bodies from then on; on losing one, `shed` drops them
and keeps its summaries. A body that is not kept is not kept stale either: an event for a namespace
this replica does not keep drops whatever body of that resource it still held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from ironflow.controller.slim_bodies import slim
from ironflow.core.admission_index import NamespaceIndex, summarise
from ironflow.core.declarations import Kind as ViewKind
from ironflow.core.environment import Definer, Environment, resolve
from ironflow.core.environment_view import EnvironmentView, build_view
from ironflow.core.model import CONFIG_KIND, PLURALS, SECRET_KIND, InvalidResource, Kind, parse_resource
from ironflow.core.reseal import is_reseal_only
from ironflow.k8s.async_client import Kube
from ironflow.k8s.resources import list_resources

KINDS: tuple[Kind, ...] = (SECRET_KIND, CONFIG_KIND)
VIEW_KIND: Final[Mapping[Kind, ViewKind]] = {SECRET_KIND: "secret", CONFIG_KIND: "config"}
PAGE = 500  # items per page of the priming lists


def _rv(body: Mapping[str, Any]) -> int:
    try:
        return int(body.get("metadata", {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _claim(kind: Kind, body: Mapping[str, Any]) -> Definer | None:
    """None for a body that does not parse: it claims nothing, as the reconcile will report."""
    try:
        res = parse_resource(kind, body)
    except InvalidResource:
        return None
    return Definer(res.name, res.created, res.names, res.uid)


def _everything(_namespace: str) -> bool:
    return True


class Cache:
    def __init__(self, keeps: Callable[[str], bool] = _everything) -> None:
        self.keeps = keeps  # namespace -> whether its full bodies are kept (set once, at wiring)
        self._index: dict[str, NamespaceIndex] = {}
        self._bodies: dict[tuple[Kind, str], dict[str, dict[str, Any]]] = {}
        self._primed: set[str] = set()
        self._taking: set[str] = set()
        self._taken: set[str] = set()  # bodies complete since a take (until shed)
        self._everything_primed = False
        self._locks: dict[str, asyncio.Lock] = {}
        # Each kept body's claim on names, parsed once when it arrives, and the environment resolved
        # from them, kept until a claim changes. A status patch or an edited value changes no
        # claim, so reconciles in a busy namespace neither re-parse it nor re-resolve it.
        self._claims: dict[tuple[Kind, str], dict[str, Definer | None]] = {}
        self._environments: dict[tuple[Kind, str], Environment] = {}
        self._revisions: dict[str, int] = {}  # per namespace: bumped whenever its index changes

    async def prime(self, kube: Kube, namespace: str) -> None:
        if self._everything_primed or namespace in self._primed:
            return
        async with self._locks.setdefault(namespace, asyncio.Lock()):
            if self._everything_primed or namespace in self._primed:
                return
            await self._list(kube, namespace)
            self._primed.add(namespace)

    async def take(self, kube: Kube, namespace: str) -> None:
        """Keep the namespace's full bodies from now on (call once `keeps` says so): one list,
        whether or not its summaries are known, since its bodies were not kept until now."""
        async with self._locks.setdefault(namespace, asyncio.Lock()):
            self._taking.add(namespace)  # what arrives while listing is kept too
            try:
                await self._list(kube, namespace)
            finally:
                self._taking.discard(namespace)
            self._primed.add(namespace)
            self._taken.add(namespace)

    def holds_bodies(self, namespace: str) -> bool:
        """Whether a body arriving for the namespace is kept: `keeps` says so, or a `take` of it is
        listing now (what arrives meanwhile is kept too)."""
        return self.keeps(namespace) or namespace in self._taking

    def taken(self, namespace: str) -> bool:
        """Whether the namespace's bodies are complete here since a `take` (and not shed since)."""
        return namespace in self._taken

    def shed(self, namespace: str) -> None:
        """Drop the namespace's bodies (call once `keeps` no longer says so); its summaries stay,
        so admission there is answered as before."""
        self._taken.discard(namespace)
        for kind in KINDS:
            self._bodies.pop((kind, namespace), None)
            self._claims.pop((kind, namespace), None)
            self._environments.pop((kind, namespace), None)

    async def _list(self, kube: Kube, namespace: str) -> None:
        for kind in KINDS:
            async for item in list_resources(kube, PLURALS[kind], namespace, limit=PAGE):
                self.put(kind, item)

    async def prime_everywhere(self, kube: Kube, serves: Callable[[str], bool]) -> None:
        """One cluster-wide list per kind instead of one per namespace (all namespaces, or globs):
        from then on every served namespace is known, and kept current by kopf's watch events."""
        for kind in KINDS:
            async for item in list_resources(kube, PLURALS[kind], limit=PAGE):
                if serves(str((item.get("metadata") or {}).get("namespace", ""))):
                    self.put(kind, item)
        self._everything_primed = True

    def put(self, kind: Kind, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata", {})
        namespace, name = meta["namespace"], meta["name"]
        if is_reseal_only(body):  # a temporary resource of `secret reseal -f` (core/reseal.py)
            if self.known(kind, namespace, name):
                self.drop(kind, namespace, name, str(meta.get("uid") or ""))
            return
        index = self._index.get(namespace)
        if index is None:
            index = self._index[namespace] = NamespaceIndex(namespace)
        old = index.get(VIEW_KIND[kind], name)
        rv = _rv(body)
        if old is not None and rv < old.rv and old.uid == (meta.get("uid") or ""):
            return  # an event older than what is held
        if index.put(VIEW_KIND[kind], summarise(VIEW_KIND[kind], body, rv)):
            self._revisions[namespace] = self._revisions.get(namespace, 0) + 1
        if not self.holds_bodies(namespace):
            self._forget_body(kind, namespace, name)
            return
        self._bodies.setdefault((kind, namespace), {})[name] = slim(kind, body)
        claims = self._claims.setdefault((kind, namespace), {})
        claim = _claim(kind, body)
        if name not in claims or claims[name] != claim:
            claims[name] = claim
            self._environments.pop((kind, namespace), None)

    def drop(self, kind: Kind, namespace: str, name: str, uid: str = "") -> None:
        """`uid`, when given, must be the held one's: a deletion of an earlier resource of the same
        name that arrives after its successor (events of two uids are not ordered) drops nothing."""
        index = self._index.get(namespace)
        held = index.get(VIEW_KIND[kind], name) if index is not None else None
        if uid and held is not None and held.uid and held.uid != uid:
            return
        if index is not None:
            index.drop(VIEW_KIND[kind], name)
        self._revisions[namespace] = self._revisions.get(namespace, 0) + 1
        self._forget_body(kind, namespace, name)

    def _forget_body(self, kind: Kind, namespace: str, name: str) -> None:
        self._bodies.get((kind, namespace), {}).pop(name, None)
        if self._claims.get((kind, namespace), {}).pop(name, None) is not None:
            self._environments.pop((kind, namespace), None)

    def known(self, kind: Kind, namespace: str, name: str) -> bool:
        """In the index: served and existing, whether or not its body is kept here."""
        index = self._index.get(namespace)
        return index is not None and index.get(VIEW_KIND[kind], name) is not None

    def revision(self, namespace: str) -> int:
        """Changes whenever the namespace's index does: lets readers reuse what they derived."""
        return self._revisions.get(namespace, 0)

    def view(self, namespace: str) -> EnvironmentView:
        """The namespace as admission sees it, from the index alone (values never enter it)."""
        index = self._index.get(namespace)
        return index.view() if index is not None else build_view(namespace, (), ())

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        return self._bodies.get((kind, namespace), {}).get(name)

    def bodies(self, kind: Kind, namespace: str) -> list[dict[str, Any]]:
        return list(self._bodies.get((kind, namespace), {}).values())

    def names_of(self, kind: Kind, namespace: str) -> list[str]:
        return list(self._bodies.get((kind, namespace), {}))

    def environment(self, kind: Kind, namespace: str) -> Environment:
        cached = self._environments.get((kind, namespace))
        if cached is None:
            claims = self._claims.get((kind, namespace), {}).values()
            cached = self._environments[(kind, namespace)] = resolve(c for c in claims if c is not None)
        return cached

    def indexed(self) -> set[str]:
        """Every namespace the index holds resources of (bodies kept here or not): what shares
        are counted over."""
        return {namespace for namespace, index in self._index.items() if len(index)}

    def count(self, namespace: str) -> int:
        """How many resources the index holds in the namespace."""
        index = self._index.get(namespace)
        return len(index) if index is not None else 0

    def resources(self) -> Iterator[tuple[Kind, str, str]]:
        """Every resource whose body is kept here."""
        for (kind, namespace), bucket in list(self._bodies.items()):
            for name in list(bucket):
                yield (kind, namespace, name)
