"""Watch the objects the operator made (server-side label selector) and put them back when edited.

Any event on a labelled Secret or ConfigMap records what it now holds (controller/projected.py)
and queues its owner; the projector compares with that record and writes only if the object
really drifted, so the echo of our own writes costs no read and no write.
kopf never stores anything on these objects: event handlers only.
"""

from __future__ import annotations

from typing import Any

import kopf

from ironflow.controller import resync, state
from ironflow.controller.publisher import ANCHOR_KEY
from ironflow.core.crypto import SEALING_KEY_CONFIGMAP
from ironflow.core.key_publication import SIGNING_KEY_CONFIGMAP
from ironflow.core.model import CONFIG_KIND, MANAGED_BY, MANAGED_BY_LABEL, SECRET_KIND, Kind

LABEL_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"


def _owner(kind: Kind, body: Any) -> str | None:
    for ref in body.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == kind:
            return str(ref.get("name"))
    return None


def _seen(runtime: state.Runtime, kind: Kind, event: Any, body: Any, namespace: str, owner: str) -> None:
    """Record the object under its owner's name (the same name: we only project under it)."""
    if body.get("metadata", {}).get("name") != owner:
        return
    resync.requeue_stale(runtime)  # kopf runs handlers only once every index pass is done
    if event.get("type") == "DELETED":
        exists = runtime.cache.get(kind, namespace, owner) is not None
        runtime.projected.deleted(kind, body, owner_exists=exists)
    else:
        runtime.projected.put(kind, body)


@kopf.index("v1", "secrets", labels={MANAGED_BY_LABEL: MANAGED_BY})
async def projected_secret_seen(body: Any, namespace: str | None, **_: Any) -> None:
    """Not an index: kopf runs index functions for every listed object before any handler of any
    kind, so the cache is complete before the first reconcile is queued. Returns None: kopf keeps
    nothing."""
    _index(SECRET_KIND, body, namespace)


@kopf.index("v1", "configmaps", labels={MANAGED_BY_LABEL: MANAGED_BY})
async def projected_configmap_seen(body: Any, namespace: str | None, **_: Any) -> None:
    _index(CONFIG_KIND, body, namespace)


def _index(kind: Kind, body: Any, namespace: str | None) -> None:
    owner = _owner(kind, body)
    if owner and namespace and body.get("metadata", {}).get("name") == owner:
        state.current().projected.put(kind, body)


@kopf.on.event("v1", "secrets", labels={MANAGED_BY_LABEL: MANAGED_BY})
async def projected_secret_event(event: Any, body: Any, namespace: str | None, **_: Any) -> None:
    owner = _owner(SECRET_KIND, body)
    if owner and namespace:
        runtime = state.current()
        _seen(runtime, SECRET_KIND, event, body, namespace, owner)
        runtime.queue.add(("cr", SECRET_KIND, namespace, owner))


@kopf.on.event("v1", "configmaps", labels={MANAGED_BY_LABEL: MANAGED_BY})
async def projected_configmap_event(event: Any, body: Any, namespace: str | None, name: str | None,
                                    **_: Any) -> None:
    runtime = state.current()
    if not namespace:
        return
    if name == SIGNING_KEY_CONFIGMAP and namespace == runtime.options.operator_namespace:
        runtime.queue.add((ANCHOR_KEY,))
        return
    if name == SEALING_KEY_CONFIGMAP:
        if namespace in runtime.served_namespaces:
            runtime.queue.add(("sealing-key", namespace))
        return
    owner = _owner(CONFIG_KIND, body)
    if owner:
        _seen(runtime, CONFIG_KIND, event, body, namespace, owner)
        runtime.queue.add(("cr", CONFIG_KIND, namespace, owner))
