"""An IronflowSecret or IronflowConfig watch event: keep the cache, queue reconciles.

Called from the one kopf event handler of each kind (controller/cr_events.py), which feeds the
rollouts from the same event. Event handlers, not change handlers: they need no progress or
diff-base storage, so kopf never writes annotations, finalizers or status of its own, and a
restart writes nothing. The work itself happens in the queue (projector), which compares desired
with actual state.
"""

from __future__ import annotations

import logging
from typing import Any

from ironflow.controller import reseal
from ironflow.controller.state import Runtime
from ironflow.controller.work import CrKey, ResealKey
from ironflow.core.model import (
    PLURALS,
    SECRET_KIND,
    InvalidResource,
    Kind,
    parse_resource,
)
from ironflow.core.reseal import is_reseal_only
from ironflow.k8s.async_client import ApiError

logger = logging.getLogger("ironflow.resources")


async def on_resource_event(runtime: Runtime, kind: Kind, event: Any, namespace: str | None,
                            name: str | None) -> None:
    if not namespace or not name or not runtime.serves(namespace):  # kopf may watch cluster-wide
        return
    try:
        await runtime.cache.prime(runtime.kube, namespace)
    except ApiError as exc:  # the reconcile primes again, with retries
        logger.debug("listing %s in %s failed (%s); the reconcile will retry", kind, namespace, exc)
    body = event.get("object") or {}
    if kind == SECRET_KIND and event.get("type") != "DELETED" and reseal.wanted(body):
        runtime.queue.add(ResealKey(namespace, name))
    version = None if event.get("type") == "DELETED" else (body.get("metadata") or {}).get("resourceVersion")
    if version and runtime.echoes.is_echo(PLURALS[kind], namespace, name, version):
        return  # our own status write: the cache holds this version already (controller/echoes.py)
    # while our status write is in flight the body is kept, and the answer says whether to queue
    held = bool(version) and runtime.echoes.hold(PLURALS[kind], namespace, name, version)
    old = runtime.cache.get(kind, namespace, name)
    # A reseal-only body is never cached: never projected, claims no names (labelled later, it
    # leaves the cache as if deleted, and its projection is kept like a deleted resource's).
    gone = event.get("type") == "DELETED" or is_reseal_only(body)
    if gone and not runtime.cache.known(kind, namespace, name):  # known: its body may not be kept here
        return
    old_names = _names(kind, old)
    if gone:
        runtime.cache.drop(kind, namespace, name, str((body.get("metadata") or {}).get("uid") or ""))
        new_names: frozenset[str] = frozenset()
    else:
        runtime.cache.put(kind, body)
        new_names = _names(kind, runtime.cache.get(kind, namespace, name))
    if not held:
        runtime.queue.add(CrKey(kind, namespace, name))
    if old_names != new_names or gone:
        touched = old_names | new_names
        for sibling in runtime.cache.names_of(kind, namespace):
            if sibling != name and touched & _names(kind, runtime.cache.get(kind, namespace, sibling)):
                runtime.queue.add(CrKey(kind, namespace, sibling))


def _names(kind: Kind, body: dict[str, Any] | None) -> frozenset[str]:
    if body is None:
        return frozenset()
    try:
        return parse_resource(kind, body).names
    except InvalidResource:
        return frozenset()

