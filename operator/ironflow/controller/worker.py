"""Queue keys -> reconciles: resources, the sealing-key ConfigMap and the rollouts of a namespace.

Nothing runs before the master key has been read once, so the first reconcile after a start is
already right and a restart does not flap projections through a guessed mode. Nothing runs on a
replica that does not lead: the key is dropped, and the replica that gains the Lease re-queues
everything (controller/resync.py).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

from ironflow import metrics
from ironflow.controller import projector, publisher, reseal, rollouts, withdraw
from ironflow.controller.state import Runtime
from ironflow.controller.workqueue import Handler
from ironflow.k8s.async_client import ApiError, NotLeading

logger = logging.getLogger("ironflow.worker")


def handler(runtime: Runtime) -> Handler:
    async def handle(key: Hashable) -> None:
        await runtime.keys_loaded.wait()
        keys = runtime.keys
        assert keys is not None
        assert isinstance(key, tuple)
        if not runtime.leadership.is_leading():
            runtime.queue.forget(key)
            return
        try:
            if key[0] == "cr":
                _, kind, namespace, name = key
                await projector.reconcile(runtime, kind, namespace, name, keys)
            elif key[0] == "sealing-key":
                await publisher.publish(runtime, key[1], keys)
            elif key[0] == publisher.ANCHOR_KEY:
                await publisher.publish_anchor(runtime, keys)
            elif key[0] == reseal.RESEAL_KEY:
                await reseal.handle(runtime, key[1], key[2], keys)
            elif key[0] == withdraw.WITHDRAW_KEY:
                await withdraw.withdraw_unserved(runtime)
            elif key[0] == rollouts.ROLLOUT_KEY:
                await rollouts.reconcile_environment(runtime, key[1])
            runtime.queue.forget(key)
        except NotLeading:  # the Lease was lost mid-reconcile: whoever leads next resyncs this key
            runtime.queue.forget(key)
            logger.debug("%s dropped: no longer the leader", "/".join(map(str, key)))
        except ApiError as exc:
            delay = runtime.queue.retry(key)
            if key[0] == "cr":
                metrics.RECONCILE_ERRORS.labels(kind=key[1]).inc()
            log = logger.debug if exc.status == 409 else logger.warning
            log("%s failed: %s; retrying in %.1fs", "/".join(map(str, key)), exc, delay)
    return handle
