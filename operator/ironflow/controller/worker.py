"""Queue keys -> reconciles: resources, the sealing-key ConfigMap and the rollouts of a namespace.

One table, DISPATCH, maps each key type (controller/work.py) to its reconcile; a new kind of work
adds its type there and one line here. Nothing runs before the master key has been read once,
so the first reconcile after a start is already right and a restart does not flap projections
through a guessed mode. A namespace's work runs only on the replica that owns the namespace (the
leader, unless --sharding shares them out), the cluster-wide work only on the leader; elsewhere
the key is dropped, and the replica that gains the namespace or the Lease re-queues it
(controller/resync.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from ironflow import metrics
from ironflow.controller import projector, publisher, reseal, rollouts, withdraw, work
from ironflow.controller.state import Runtime
from ironflow.controller.workqueue import Handler
from ironflow.core.outcomes import KeyState
from ironflow.k8s.async_client import ApiError, NotLeading

logger = logging.getLogger("ironflow.worker")
Reconcile = Callable[[Runtime, Any, KeyState], Awaitable[None]]


async def _cr(runtime: Runtime, key: work.CrKey, keys: KeyState) -> None:
    await projector.reconcile(runtime, key.kind, key.namespace, key.name, keys)


async def _sealing_key(runtime: Runtime, key: work.SealingKeyKey, keys: KeyState) -> None:
    await publisher.publish(runtime, key.namespace, keys)


async def _anchor(runtime: Runtime, _key: work.AnchorKey, keys: KeyState) -> None:
    await publisher.publish_anchor(runtime, keys)


async def _reseal(runtime: Runtime, key: work.ResealKey, keys: KeyState) -> None:
    await reseal.handle(runtime, key.namespace, key.name, keys)


async def _withdraw(runtime: Runtime, _key: work.WithdrawKey, _keys: KeyState) -> None:
    await withdraw.withdraw_unserved(runtime)


async def _rollout(runtime: Runtime, key: work.RolloutKey, _keys: KeyState) -> None:
    await rollouts.reconcile_environment(runtime, key.namespace)


DISPATCH: Mapping[type[work.WorkKey], Reconcile] = MappingProxyType({
    work.CrKey: _cr,
    work.SealingKeyKey: _sealing_key,
    work.AnchorKey: _anchor,
    work.ResealKey: _reseal,
    work.WithdrawKey: _withdraw,
    work.RolloutKey: _rollout,
})


def runs_here(runtime: Runtime, key: work.WorkKey) -> bool:
    if isinstance(key, work.AnchorKey | work.WithdrawKey):
        return runtime.leadership.is_leading()
    return runtime.owns(key.namespace)


def handler(runtime: Runtime) -> Handler[work.WorkKey]:
    async def handle(key: work.WorkKey) -> None:
        await runtime.keys_loaded.wait()
        keys = runtime.keys
        assert keys is not None
        if not runs_here(runtime, key):
            runtime.queue.forget(key)
            return
        try:
            await DISPATCH[type(key)](runtime, key, keys)
            runtime.queue.forget(key)
        except NotLeading:  # the Lease or share was lost mid-reconcile: whoever gains it resyncs this key
            runtime.queue.forget(key)
            logger.debug("%s dropped: no longer the leader or owner", key)
        except ApiError as exc:
            delay = runtime.queue.retry(key)
            if isinstance(key, work.CrKey):
                metrics.RECONCILE_ERRORS.labels(kind=key.kind).inc()
            log = logger.debug if exc.status == 409 else logger.warning
            log("%s failed: %s; retrying in %.1fs", key, exc, delay)
    return handle
