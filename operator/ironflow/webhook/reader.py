"""How admission reads an environment: the operator's caches when they can answer, live otherwise.

The operator hands the webhook its caches as `OperatorCaches`, typed by the protocols below, so
an admission review runs through this package, `core/` and `k8s/` only: nothing here calls back
into the controller's code, and the controller's `Cache` and `ProjectedCache` are simply objects
that have these methods. A webhook started without them (tests, a bare server) reads live.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Collection, Container
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol

from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView, build_view, foreign_keys
from ironflow.core.model import CONFIG_KIND, SECRET_KIND
from ironflow.core.model import Kind as ResourceKind
from ironflow.core.namespace_patterns import matches
from ironflow.k8s.admission import (
    READ_DEADLINE_SECONDS,
    foreign_projections,
    list_environment,
    missing_secrets,
)
from ironflow.k8s.async_client import Kube
from ironflow.webhook.admission import EnvironmentNotServed, EnvironmentReader
from ironflow.webhook.lru import LruDict

Resources = tuple[list[dict[str, Any]], list[dict[str, Any]]]
# namespace -> its view as the operator's cache holds it (values stripped before it is derived);
# None when the operator does not hold that namespace
CachedLister = Callable[[str], Awaitable[EnvironmentView | None]]
# (kind, namespace, resource, resource uid) -> True only when the operator's projected-object cache
# (its own label-filtered list+watch) holds the object of that name, labelled and controlled by that
# uid. False means "not known to be owned" (absent, not seen yet, someone else's, not synced): read.
OwnedProbe = Callable[[Kind, str, str, str], bool]
# Namespaces whose derived view is kept; beyond it the least recently used is derived again.
DERIVED_VIEWS_BOUND: Final = 1024


class ResourceCache(Protocol):
    """The operator's admission index of IronflowSecrets/IronflowConfigs: per namespace, the names
    each resource defines and its status facts (core/admission_index.py), never bodies or values.
    Every replica holds it for every served namespace, whichever replica reconciles there."""

    async def prime(self, kube: Kube, namespace: str) -> None: ...
    def revision(self, namespace: str) -> int: ...
    def view(self, namespace: str) -> EnvironmentView: ...


class ProjectedObjects(Protocol):
    """What the operator's own watch last saw of each projected Secret and ConfigMap."""

    def owner_of(self, kind: ResourceKind, namespace: str, name: str) -> str | None: ...


@dataclass(frozen=True)
class OperatorCaches:
    """Everything admission may read from the operator, handed over once at start-up."""

    patterns: tuple[str, ...]  # --namespace: declaring pods elsewhere are refused
    served: Container[str]  # namespaces the operator has found and primes into `resources`
    resources: ResourceCache
    projected: ProjectedObjects


class CachedEnvironments:
    """The webhook's view of a namespace as the operator holds it (listed once, kept by watch).

    Taken from the index once per revision of the namespace (the index keeps the resolution
    current change by change; a revision costs a copy of it, not a rebuild), so a burst of pods (a
    Deployment scaling up) costs one copy, not one per pod. Only namespaces the operator `known`s to
    exist and serve are primed into its cache; for any other the answer is None and the webhook
    lists live, keeping nothing: a namespace string from a request never becomes state. The
    derived views are an LRU of `bound` namespaces."""

    def __init__(
        self, cache: ResourceCache, kube: Kube, known: Callable[[str], bool], bound: int = DERIVED_VIEWS_BOUND
    ) -> None:
        self._cache, self._kube, self._known = cache, kube, known
        self.derived: LruDict[str, tuple[int, EnvironmentView]] = LruDict(bound)

    async def __call__(self, namespace: str) -> EnvironmentView | None:
        if not self._known(namespace):
            return None
        cache = self._cache
        # A timeout scope, not wait_for: wait_for runs the priming in a new task, so every admission
        # yielded to the event loop once even when the namespace was long primed, and with the
        # API server's concurrent calls each decision then waited for the others
        # (measured: it was most of the webhook's p99 under load).
        async with asyncio.timeout(READ_DEADLINE_SECONDS):
            await cache.prime(self._kube, namespace)
        revision = cache.revision(namespace)
        memo = self.derived.get(namespace)
        if memo is None or memo[0] != revision:
            memo = (revision, cache.view(namespace))
            self.derived.put(namespace, memo)
        return memo[1]


def owned_in(projected: ProjectedObjects) -> OwnedProbe:
    """Whether the projected object of a resource is, as the operator's own watch saw it last,
    labelled as ours and controlled by that resource's uid: then admission needs no GET for it.

    Only a positive answer is trusted. The watch trails the API server by the time an event takes,
    so an object projected a moment ago may be missing here: the webhook then reads it, as it
    always did. An object outside the label-filtered watch (someone else's) is never held here.
    """

    def owned(kind: Kind, namespace: str, resource: str, uid: str) -> bool:
        owner = projected.owner_of(SECRET_KIND if kind == "secret" else CONFIG_KIND, namespace, resource)
        return bool(uid) and owner == uid

    return owned


def cached_reader(kube: Kube, caches: OperatorCaches) -> EnvironmentReader:
    """The reader a running operator's webhook answers with."""
    return environment_reader(
        kube,
        serves=partial(matches, caches.patterns),
        cached=CachedEnvironments(caches.resources, kube, known=caches.served.__contains__),
        owned=owned_in(caches.projected),
    )


def environment_reader(
    kube: Kube,
    serves: Callable[[str], bool] | None = None,
    cached: CachedLister | None = None,
    owned: OwnedProbe | None = None,
) -> EnvironmentReader:
    """Reads for admission, from the operator's caches when it has them, live otherwise.

    The cache decides only admissions: a pod whose declared names the cache does not know is
    checked again against a live listing, because the cache may trail a resource created a
    moment ago (the pod and its IronflowSecret applied together); so is one whose status in the
    cache does not describe the resource's current generation (another replica may have projected
    it a moment ago). So a busy namespace costs no LIST per pod, and no pod is refused on stale data.

    Ownership works the same way: the projected-object cache can only say "owned by this
    resource"; anything else (absent, a projection the watch has not delivered yet, an object
    outside the watch) costs the metadata GET it always did, and the GET decides. So a pod is
    never pointed at an object not owned by its resource, and none that a GET would admit is
    refused because the cache trails.
    """

    async def listed(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
        view = await cached(namespace) if cached is not None else None
        if view is not None and all(view.source(kind, name) is not None and view.settled(kind, name)
                                    for kind, name in declared):
            return view
        resources = await list_environment(kube, namespace)
        return build_view(namespace, *resources)

    async def read(
        namespace: str, declared: Collection[tuple[Kind, str]], *, secrets: Collection[str] = ()
    ) -> EnvironmentView:
        if serves is not None and not serves(namespace):
            raise EnvironmentNotServed(namespace)
        view = await listed(namespace, declared)
        # Only the objects this pod would read need their ownership checked, and only those the
        # projected cache does not show owned by their resource cost a metadata GET.
        drawn = {(kind, source) for kind, name in declared if (source := view.source(kind, name))}
        unproven: dict[str, list[dict[str, Any]]] = {}
        for kind, resource in sorted(drawn):
            uid = view.uids.get(kind, {}).get(resource)
            if owned is None or uid is None or not owned(kind, namespace, resource, uid):
                unproven.setdefault(kind, []).append({"metadata": {"name": resource, "uid": uid}})
        foreign = await foreign_projections(kube, namespace, unproven) if unproven else set()
        if foreign:
            view = dataclasses.replace(view, foreign=view.foreign | foreign_keys(foreign))
        unmanaged = [n for n in secrets if n not in view.resources.get("secret", frozenset())]
        if unmanaged:  # enforcement: a Secret referred to must exist (core/enforcement.py); not
            # ours, so outside the projected cache's watch: one metadata GET each, as before
            missing = await missing_secrets(kube, namespace, unmanaged)
            view = dataclasses.replace(view, missing_secrets=frozenset(missing))
        return view

    return read
