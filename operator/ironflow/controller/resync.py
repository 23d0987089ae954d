"""What every replica does to be ready, and what a replica does when it becomes the leader.

- `sync_cache`: list the served namespaces' resources once at start. Until that list is in,
  /readyz answers 503: the webhook answers admissions from this cache on every replica, leader
  or standby, so a replica must not receive traffic before it holds every environment.
- `resync`: a new leader re-reconciles everything once (the standby dropped the work it saw
  while not leading). Reconciles compare desired with actual state, so a resync over an
  unchanged cluster costs reads and no writes.
- with --sharding the leader queues only the cluster-wide work (`leader_resync`), and a replica
  that gains namespaces queues theirs (`resync_namespaces`), after priming their full bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

from ironflow.controller import namespaces, reseal
from ironflow.controller.cache import KINDS
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


def leader_resync(runtime: Runtime) -> None:
    """With sharding, what a new leader alone does: the signer anchor and the withdrawal."""
    runtime.queue.add(AnchorKey())
    runtime.queue.add(WithdrawKey())


async def resync_namespaces(runtime: Runtime, gained: Collection[str]) -> None:
    """Namespaces this replica just gained: their resources, sealing key and rollout check, and
    reseal requests the previous owner may have left. Waits for the start-up list first, so that
    the namespaces gained at start are not listed one by one beside it."""
    await runtime.cache_synced.wait()
    for namespace in sorted(gained):
        try:
            if not runtime.cache.taken(namespace):
                await runtime.cache.take(runtime.kube, namespace)  # its full bodies, from now on
            if not runtime.projected.taken(namespace):
                await runtime.projected.take(runtime.kube, namespace)  # its projected values too
        except ApiError as exc:  # the bodies come with kopf's events; the queue still runs on them
            logger.warning("priming a gained namespace failed: %s", exc)
        if not runtime.owns(namespace):
            continue  # moved on meanwhile
        held = False
        for kind in KINDS:
            for name in runtime.cache.names_of(kind, namespace):
                runtime.queue.add(CrKey(kind, namespace, name))
                held = True
        if namespace in runtime.served_namespaces:
            runtime.queue.add(SealingKeyKey(namespace))
        if held:
            runtime.queue.add(RolloutKey(namespace))
    await reseal.resume(runtime, set(gained))


def on_gain(runtime: Runtime, gained: Collection[str]) -> None:
    """The share-change hook (controller/shares.py): queue what was gained, in the background."""
    if gained:
        task = asyncio.ensure_future(resync_namespaces(runtime, set(gained)))
        task.add_done_callback(_log_failure)


def on_keep(runtime: Runtime, _gained: Collection[str], lost: Collection[str]) -> None:
    """Namespaces no longer kept here: drop their bodies and projected values, keep their names
    and owners (admission). Those gained get theirs when their work is queued (`resync_namespaces`)."""
    for namespace in lost:
        runtime.cache.shed(namespace)
        runtime.projected.shed(namespace)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("queueing the work of gained namespaces failed", exc_info=task.exception())


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
