"""A slow sweep for resources whose status is behind their spec while no work waits for them.

Why: a change reaches the work queue along one of several paths (kopf's watch event, the drift
watch, a sibling giving up a name, a gained share, a new term's resync), and a defect in any of
them loses the change silently until the resource changes again. One such defect was found only by
a benchmark: a leader frozen past its renew deadline dropped the keys it dequeued on waking, and
no path brought them back. The bodies of this replica's resources are in memory, so looking over
them costs no API call: one owned here whose `metadata.generation` differs from
`status.observedGeneration` (every status the operator writes carries it), and which is neither
queued, running nor waiting for a retry, is queued again, counted in
`ironflow_stale_requeued_total` and logged, because it means some path lost an event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from ironflow import metrics
from ironflow.controller.state import Runtime
from ironflow.controller.work import CrKey

logger = logging.getLogger("ironflow.stale")
SWEEP_SECONDS = 300.0


def behind(body: Mapping[str, Any]) -> bool:
    """Whether the status was written for an older spec than the body's, or never."""
    metadata, status = body.get("metadata"), body.get("status")
    generation = metadata.get("generation") if isinstance(metadata, Mapping) else None
    observed = status.get("observedGeneration") if isinstance(status, Mapping) else None
    return generation is not None and observed != generation


def stale(runtime: Runtime) -> list[CrKey]:
    """The owned resources behind their spec with no work queued, running or waiting for them."""
    found: list[CrKey] = []
    for kind, namespace, name in runtime.cache.resources():
        key = CrKey(kind, namespace, name)
        if runtime.queue.holds(key) or not runtime.owns(namespace):
            continue
        body = runtime.cache.get(kind, namespace, name)
        if body is not None and behind(body):
            found.append(key)
    return found


def sweep(runtime: Runtime) -> int:
    """Queue what `stale` finds; how many."""
    keys = stale(runtime)
    for key in keys:
        runtime.queue.add(key)
        metrics.STALE_REQUEUED.labels(kind=key.kind).inc()
    if keys:
        first = keys[0]
        logger.warning("%d resource(s) had a status behind their spec and no work queued (a lost event): "
                       "queued again, the first %s %s/%s", len(keys), first.kind, first.namespace, first.name)
    return len(keys)


async def run(runtime: Runtime, every: float = SWEEP_SECONDS) -> None:
    await runtime.cache_synced.wait()
    while True:
        await asyncio.sleep(every)
        sweep(runtime)
