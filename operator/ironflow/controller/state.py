"""What the operator holds in memory: options, the master key's state, and a cache of CR bodies.

All of it hangs off one `Runtime`, built once at start-up (controller/main.py) and passed to
whatever needs it: to our tasks as an argument, to kopf's handlers as `memo.runtime` (kopf hands
each handler a copy of the memo main.py gives it; `runtime_of` reads it). No module keeps state
of its own (tests/unit/test_no_module_state.py), so two operators in one process (tests) share
nothing but the Prometheus registry.

The cache exists so that a change to one resource can re-reconcile its siblings (a name handed
over after the older definer dropped it) and a master-key change can re-reconcile everything,
without listing the cluster each time. It is filled from kopf's watch events and primed per
namespace by one list, so oldest-definition-wins is decided on the whole environment even while
kopf is still delivering the initial listing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ironflow.controller.events import EventPoster
from ironflow.controller.leadership import ElectionOptions, Leadership
from ironflow.controller.projected import ProjectedCache
from ironflow.controller.shares import Shares
from ironflow.controller.supervisor import Supervisor
from ironflow.controller.work import WorkKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.core.environment import Definer, Environment, resolve
from ironflow.core.model import (
    API_VERSION,
    CONFIG_KIND,
    PLURALS,
    SECRET_KIND,
    InvalidResource,
    Kind,
    parse_resource,
)
from ironflow.core.namespace_patterns import matches
from ironflow.core.outcomes import KeyState
from ironflow.core.reseal import is_reseal_only
from ironflow.k8s.async_client import Kube
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.resources import list_resources
from ironflow.metrics import ObjectCounts
from ironflow.webhook.server import WebhookOptions

KINDS: tuple[Kind, ...] = (SECRET_KIND, CONFIG_KIND)
# Kubernetes' own namespaces: nobody keeps environments there, and a public key published into
# kube-public is readable by anyone, even unauthenticated users on some clusters.
SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")
PAGE = 500  # items per page of the priming lists


@dataclass(frozen=True)
class Options:
    cluster: ClusterChoice
    namespaces: tuple[str, ...]
    operator_namespace: str
    master_key_secret: str
    metrics_port: int
    health_port: int
    bind_address: str
    workers: int
    # Served namespaces that get no ironflow-sealing-key ConfigMap (--sealing-key-excluded-namespaces).
    sealing_key_excluded: tuple[str, ...] = SYSTEM_NAMESPACES
    election: ElectionOptions = field(default_factory=ElectionOptions)
    # Only --dev-mode lets a missing key mean development mode; without it, it means NoMasterKey.
    dev_mode: bool = False
    webhook: WebhookOptions | None = None  # --webhook-*: None when the webhook is not asked for


def _rv(body: Mapping[str, Any]) -> int:
    try:
        return int(body.get("metadata", {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


# What no reader of the cache needs, and what costs most per body: the server's field ownership
# records (one nested dict per field per manager) and kubectl's copy of the whole last applied
# object. Measured at 200 resources: 11 KB per cached body before, see docs/benchmarks.md.
DROPPED_METADATA = ("managedFields",)
DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
_SHORT = 40  # string values up to this length are interned: states, reasons, times, kinds


def _compact(value: Any) -> Any:
    """A private copy with keys (and short strings) interned: thousands of bodies share one copy of
    "metadata", "Projected", "True"... instead of each holding its own, and kopf's event body is
    not kept alive by the cache."""
    if isinstance(value, Mapping):
        return {sys.intern(str(k)): _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, str) and len(value) <= _SHORT:
        return sys.intern(value)
    return value


def slim(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    """The CR body as the cache keeps it: all a reconcile, the webhook or a rollout reads."""
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k not in DROPPED_METADATA}
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping) and any(a in annotations for a in DROPPED_ANNOTATIONS):
        meta["annotations"] = {k: v for k, v in annotations.items() if k not in DROPPED_ANNOTATIONS}
    out = {k: v for k, v in body.items() if k not in ("metadata", "apiVersion", "kind")}
    compact: dict[str, Any] = _compact({**out, "metadata": meta})
    compact["apiVersion"], compact["kind"] = API_VERSION, kind
    return compact


def _claim(kind: Kind, body: Mapping[str, Any]) -> Definer | None:
    """None for a body that does not parse: it claims nothing, as the reconcile will report."""
    try:
        res = parse_resource(kind, body)
    except InvalidResource:
        return None
    return Definer(res.name, res.created, res.names, res.uid)


class Cache:
    def __init__(self) -> None:
        self._bodies: dict[tuple[Kind, str], dict[str, dict[str, Any]]] = {}
        self._primed: set[str] = set()
        self._everything_primed = False
        self._locks: dict[str, asyncio.Lock] = {}
        # Each body's claim on names, parsed once when it arrives, and the environment resolved
        # from them, kept until a claim changes. A status patch or an edited value changes no
        # claim, so reconciles in a busy namespace neither re-parse it nor re-resolve it.
        self._claims: dict[tuple[Kind, str], dict[str, Definer | None]] = {}
        self._environments: dict[tuple[Kind, str], Environment] = {}
        self._revisions: dict[str, int] = {}  # per namespace: bumped whenever a body there changes

    async def prime(self, kube: Kube, namespace: str) -> None:
        if self._everything_primed or namespace in self._primed:
            return
        async with self._locks.setdefault(namespace, asyncio.Lock()):
            if self._everything_primed or namespace in self._primed:
                return
            for kind in KINDS:
                async for item in list_resources(kube, PLURALS[kind], namespace, limit=PAGE):
                    self.put(kind, item)
            self._primed.add(namespace)

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
        if is_reseal_only(body):  # a temporary resource of `secret reseal -f` (core/reseal.py)
            if self.get(kind, meta["namespace"], meta["name"]) is not None:
                self.drop(kind, meta["namespace"], meta["name"])
            return
        bucket = self._bodies.setdefault((kind, meta["namespace"]), {})
        old = bucket.get(meta["name"])
        if old is None or _rv(body) >= _rv(old) or old["metadata"].get("uid") != meta.get("uid"):
            bucket[meta["name"]] = slim(kind, body)
            self._revisions[meta["namespace"]] = self._revisions.get(meta["namespace"], 0) + 1
            claims = self._claims.setdefault((kind, meta["namespace"]), {})
            claim = _claim(kind, body)
            if meta["name"] not in claims or claims[meta["name"]] != claim:
                claims[meta["name"]] = claim
                self._environments.pop((kind, meta["namespace"]), None)

    def drop(self, kind: Kind, namespace: str, name: str) -> None:
        self._bodies.get((kind, namespace), {}).pop(name, None)
        self._revisions[namespace] = self._revisions.get(namespace, 0) + 1
        self._claims.get((kind, namespace), {}).pop(name, None)
        self._environments.pop((kind, namespace), None)

    def revision(self, namespace: str) -> int:
        """Changes whenever any body of the namespace does: lets readers reuse what they derived."""
        return self._revisions.get(namespace, 0)

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

    def resources(self) -> Iterator[tuple[Kind, str, str]]:
        for (kind, namespace), bucket in list(self._bodies.items()):
            for name in list(bucket):
                yield (kind, namespace, name)


@dataclass
class RolloutMemory:
    """What controller/rollouts.py remembers between events (see there): the fingerprint of each
    resource's versions and of each declaring workload last seen, and each namespace's last check."""

    versions: dict[tuple[str, str, str], str] = field(default_factory=dict)
    workloads: dict[tuple[str, str, str], str] = field(default_factory=dict)
    last_check: dict[str, float] = field(default_factory=dict)


@dataclass
class Runtime:
    options: Options
    kube: Kube
    keys: KeyState | None = None
    keys_loaded: asyncio.Event = field(default_factory=asyncio.Event)
    kopf_ready: asyncio.Event = field(default_factory=asyncio.Event)
    cache: Cache = field(default_factory=Cache)
    projected: ProjectedCache = field(default_factory=ProjectedCache)
    queue: WorkQueue[WorkKey] = field(default_factory=WorkQueue)
    served_namespaces: set[str] = field(default_factory=set)
    cache_synced: asyncio.Event = field(default_factory=asyncio.Event)
    supervisor: Supervisor = field(default_factory=Supervisor)
    # Why the API server cannot call this replica's webhook yet (webhook/trust.py).
    webhook_untrusted: str | None = None
    rollouts: RolloutMemory = field(default_factory=RolloutMemory)
    conditions: ObjectCounts = field(default_factory=ObjectCounts)  # the ironflow_objects gauge's counts
    kopf_login: dict[str, Any] = field(default_factory=dict)  # the last session handed to kopf (login.py)
    leadership: Leadership = field(init=False)
    shares: Shares = field(init=False)
    events: EventPoster = field(init=False)

    def __post_init__(self) -> None:
        self.events = EventPoster(self.kube)
        # Every write this runtime's client sends passes the leader gate (controller/leadership.py),
        # with --sharding the share's gate (controller/shares.py).
        self.leadership = Leadership(self.kube, self.options.operator_namespace, self.options.election)
        self.shares = Shares(self.kube, self.options.operator_namespace, self.options.election,
                             self.leadership)
        self.shares.serves = self.serves
        self.shares.candidates = self._share_candidates
        self.shares.resources_in = lambda ns: sum(len(self.cache.names_of(kind, ns)) for kind in KINDS)
        self.kube.write_guard = self.shares.guard if self.shares.enabled else self.leadership.guard

    def _share_candidates(self) -> set[str]:
        """What a share is counted over: the served namespaces and those holding a resource."""
        return set(self.served_namespaces) | {ns for _kind, ns, _name in self.cache.resources()}

    def owns(self, namespace: str) -> bool:
        """Whether this replica reconciles and writes `namespace` now (without sharding: leads)."""
        return self.shares.owns(namespace)

    def keeps_bodies(self, namespace: str) -> bool:
        """Whether the cache needs full bodies of `namespace` (its share), not only names."""
        return self.shares.owns(namespace) if self.shares.enabled else True

    def serves(self, namespace: str) -> bool:
        """Served by `--namespace`. kopf watches across the cluster unless only plain names are
        served (controller/namespaces.py, `kopf_scope`), so its handlers ask this first."""
        return matches(self.options.namespaces, namespace)

    def ready(self) -> bool:
        """Ready to serve: the key is read, kopf's watches run, the cache holds every served
        namespace (the webhook answers from it) and the webhook configuration trusts the certificate
        this replica serves, whether or not it leads."""
        return (self.keys_loaded.is_set() and self.kopf_ready.is_set() and self.cache_synced.is_set()
                and self.webhook_untrusted is None)


def runtime_of(memo: Any) -> Runtime:
    """The runtime in a kopf handler's `memo` (main.py passes kopf `kopf.Memo(runtime=...)`)."""
    runtime: Runtime = memo.runtime
    return runtime
