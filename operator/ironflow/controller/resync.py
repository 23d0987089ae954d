"""What every replica does to be ready, and what a replica does when it becomes the leader.

- `sync_cache`: list the served namespaces' resources once at start. Until that list is in,
  /readyz answers 503: the webhook answers admissions from this cache on every replica, leader
  or standby, so a replica must not receive traffic before it holds every environment.
- `resync`: a new leader re-reconciles everything once (the standby dropped the work it saw
  while not leading). Reconciles compare desired with actual state, so a resync over an
  unchanged cluster costs reads and no writes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ironflow.controller import namespaces, publisher, rollouts
from ironflow.controller.state import KINDS, Runtime, listed
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL, SECRET_KIND
from ironflow.k8s.async_client import ApiError, core_path

logger = logging.getLogger("ironflow.resync")


async def sync_cache(runtime: Runtime) -> None:
    patterns = runtime.options.namespaces
    delay = 1.0
    while True:
        try:
            if namespaces.is_static(patterns):
                for namespace in patterns:
                    await runtime.cache.prime(runtime.kube, namespace)
            else:
                await runtime.cache.prime_everywhere(runtime.kube,
                                                     lambda ns: namespaces.matches(patterns, ns))
            break
        except ApiError as exc:
            logger.warning("listing Ironflow resources failed (%s); not ready, retrying in %.0fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
    runtime.cache_synced.set()
    logger.info("cache synced: %d Ironflow resource(s)", sum(1 for _ in runtime.cache.resources()))
    await _prime_projected(runtime)


async def _prime_projected(runtime: Runtime) -> None:
    """One paged list of the projected objects, so reconciles at a start need not wait for kopf's
    listing (nor read each object); kopf's listing then confirms it (ProjectedCache.mark_synced)."""
    patterns = runtime.options.namespaces
    query = {"labelSelector": f"{MANAGED_BY_LABEL}={MANAGED_BY}"}
    try:
        for kind in KINDS:
            plural = "secrets" if kind == SECRET_KIND else "configmaps"
            paths = ([core_path(plural, ns) for ns in patterns] if namespaces.is_static(patterns)
                     else [core_path(plural)])
            for path in paths:
                async for item in listed(runtime.kube, path, query):
                    meta = item.get("metadata") or {}
                    if namespaces.matches(patterns, str(meta.get("namespace", ""))) and _owned(kind, item):
                        runtime.projected.put(kind, item, listed=True)
    except ApiError as exc:  # kopf's listing fills it instead, a little later
        logger.warning("listing projected objects failed (%s); waiting for the watch instead", exc)
        return
    runtime.projected.primed()


def _owned(kind: str, item: dict[str, Any]) -> bool:
    meta = item.get("metadata") or {}
    return any(ref.get("controller") and ref.get("kind") == kind and ref.get("name") == meta.get("name")
               for ref in meta.get("ownerReferences") or [])


def requeue_stale(runtime: Runtime) -> None:
    """kopf's listing is in: re-queue whatever our priming list held that it did not confirm."""
    for kind, namespace, name in runtime.projected.mark_synced():
        runtime.queue.add(("cr", kind, namespace, name))


def resync(runtime: Runtime) -> None:
    """Queue every resource, every sealing-key ConfigMap, the signer anchor, and the rollout check
    of every environment that holds a resource (elsewhere no declared value exists to roll for;
    the first resource created there queues its check). The anchor too: the master key is usually
    read before the Lease is won, and the anchor it queued then was dropped by the standby."""
    queue = runtime.queue
    seen: set[str] = set()
    for kind, namespace, name in runtime.cache.resources():
        queue.add(("cr", kind, namespace, name))
        seen.add(namespace)
    for namespace in sorted(runtime.served_namespaces):
        queue.add(("sealing-key", namespace))
    queue.add((publisher.ANCHOR_KEY,))
    for namespace in sorted(seen):
        queue.add((rollouts.ROLLOUT_KEY, namespace))
