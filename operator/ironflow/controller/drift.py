"""Watch the objects the operator made (server-side label selector) and put them back when edited.

Any event on a labelled Secret or ConfigMap queues its owner; the projector compares and writes
only if the object really drifted, so the echo of our own writes costs a read and nothing more.
kopf never stores anything on these objects: event handlers only.
"""

from __future__ import annotations

from typing import Any

import kopf

from ironflow.controller import state
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


@kopf.on.event("v1", "secrets", labels={MANAGED_BY_LABEL: MANAGED_BY})
async def projected_secret_event(body: Any, namespace: str | None, **_: Any) -> None:
    owner = _owner(SECRET_KIND, body)
    if owner and namespace:
        state.current().queue.add(("cr", SECRET_KIND, namespace, owner))


@kopf.on.event("v1", "configmaps", labels={MANAGED_BY_LABEL: MANAGED_BY})
async def projected_configmap_event(body: Any, namespace: str | None, name: str | None, **_: Any) -> None:
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
        runtime.queue.add(("cr", CONFIG_KIND, namespace, owner))
