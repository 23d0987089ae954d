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

from ironflow.controller import namespaces
from ironflow.controller.state import Runtime
from ironflow.controller.work import AnchorKey, CrKey, RolloutKey, SealingKeyKey, WithdrawKey
from ironflow.k8s.async_client import ApiError

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


def resync(runtime: Runtime) -> None:
    """Queue every resource, every sealing-key ConfigMap, the signer anchor, the withdrawal of the
    sealing key from namespaces no longer served, and the rollout check
    of every environment that holds a resource (elsewhere no declared value exists to roll for;
    the first resource created there queues its check)."""
    queue = runtime.queue
    seen: set[str] = set()
    for kind, namespace, name in runtime.cache.resources():
        queue.add(CrKey(kind, namespace, name))
        seen.add(namespace)
    for namespace in sorted(runtime.served_namespaces):
        queue.add(SealingKeyKey(namespace))
    queue.add(AnchorKey())  # the signer anchor the CLI trusts on first use
    queue.add(WithdrawKey())  # and no sealing key left where it no longer serves
    for namespace in sorted(seen):
        queue.add(RolloutKey(namespace))
