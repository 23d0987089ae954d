"""What the operator holds in memory: options, the master key's state, and its caches.

All of it hangs off one `Runtime`, built once at start-up (controller/main.py) and passed to
whatever needs it: to our tasks as an argument, to kopf's handlers as `memo.runtime` (kopf hands
each handler a copy of the memo main.py gives it; `runtime_of` reads it). No module keeps state
of its own (tests/unit/test_no_module_state.py), so two operators in one process (tests) share
nothing but the Prometheus registry. The cache of CR bodies and its admission index: cache.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ironflow.controller.cache import Cache
from ironflow.controller.echoes import OwnWrites
from ironflow.controller.events import EventPoster
from ironflow.controller.leadership import ElectionOptions, Leadership
from ironflow.controller.projected import ProjectedCache
from ironflow.controller.shares import Shares
from ironflow.controller.supervisor import Supervisor
from ironflow.controller.work import WorkKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.core.namespace_patterns import matches
from ironflow.core.outcomes import KeyState
from ironflow.k8s.async_client import Kube
from ironflow.k8s.config import ClusterChoice
from ironflow.metrics import ObjectCounts
from ironflow.webhook.server import WebhookOptions

# Kubernetes' own namespaces: nobody keeps environments there, and a public key published into
# kube-public is readable by anyone, even unauthenticated users on some clusters.
SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")


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
    echoes: OwnWrites = field(default_factory=OwnWrites)  # our writes' versions: their echoes queue nothing
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
        self.shares.resources_in = self.cache.count
        self.kube.write_guard = self.shares.guard if self.shares.enabled else self.leadership.guard
        self.cache.keeps = self.keeps_bodies  # full bodies only of the share (names of everything)
        self.projected.keeps = self.keeps_bodies  # and values of projected objects only there

    def _share_candidates(self) -> set[str]:
        """What a share is counted over: the served namespaces and those holding a resource."""
        return set(self.served_namespaces) | self.cache.indexed()

    def owns(self, namespace: str) -> bool:
        """Whether this replica reconciles and writes `namespace` now (without sharding: leads)."""
        return self.shares.owns(namespace)

    def keeps_bodies(self, namespace: str) -> bool:
        """Whether the cache needs full bodies of `namespace` (its share), not only names."""
        return namespace in self.shares.kept() if self.shares.enabled else True

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
