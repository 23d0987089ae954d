"""Watch the objects the operator made (server-side label selector) and put them back when edited.

Our own list and watch, not kopf's: one paged list gives a consistent starting point at its
resourceVersion and the watch from there reports every later change, deletions included, so the
record of what each projected object holds (controller/projected.py) is exact, a reconcile reads
nothing, and a restart starts reconciling as soon as the list is in (kopf would have delivered
the listing object by object first, and kept per-object memory for each). Any event on a
labelled Secret or ConfigMap records it and queues its owner (unless it is the echo of our own
write, controller/echoes.py); the projector compares with that record and writes only if the
object really drifted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Set
from typing import Any

from ironflow.controller import namespaces
from ironflow.controller.cache import PAGE
from ironflow.controller.projected import LABEL_SELECTOR, TARGETS
from ironflow.controller.state import Runtime
from ironflow.controller.work import AnchorKey, CrKey, SealingKeyKey
from ironflow.core.crypto import SEALING_KEY_CONFIGMAP
from ironflow.core.key_publication import SIGNING_KEY_CONFIGMAP
from ironflow.core.model import CONFIG_KIND, Kind
from ironflow.core.owners import controller_reference
from ironflow.k8s import informers
from ironflow.k8s.informer import Synced

logger = logging.getLogger("ironflow.drift")


def _owner(kind: Kind, body: Any) -> str | None:
    ref = controller_reference(body.get("metadata", {}), kind)
    return None if ref is None else str(ref.get("name"))


def on_event(runtime: Runtime, kind: Kind, kind_of_event: str, body: Any, *, listing: bool = False) -> None:
    """One watch event (or, with `listing`, one listed object: recorded, nothing queued)."""
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), meta.get("name")
    if not namespace or not namespaces.matches(runtime.options.namespaces, namespace):
        return
    operator_namespace = runtime.options.operator_namespace
    if kind == CONFIG_KIND and name == SIGNING_KEY_CONFIGMAP and namespace == operator_namespace:
        if not listing:
            runtime.queue.add(AnchorKey())
        return
    if kind == CONFIG_KIND and name == SEALING_KEY_CONFIGMAP:
        if not listing and namespace in runtime.served_namespaces:
            runtime.queue.add(SealingKeyKey(namespace))
        return
    owner = _owner(kind, body)
    if not owner:
        return
    if owner == name:  # we only project under the owner's name
        if kind_of_event == "DELETED":
            exists = runtime.cache.known(kind, namespace, owner)  # whether or not its body is kept here
            runtime.projected.deleted(kind, body, owner_exists=exists)
        else:
            runtime.projected.put(kind, body)
    if listing:
        return  # a listing queues nothing
    if kind_of_event != "DELETED" and _ours(runtime, kind, namespace, str(name), meta.get("resourceVersion")):
        return  # the echo of our own write, or held until the answer to our write (controller/echoes.py)
    runtime.queue.add(CrKey(kind, namespace, owner))


def _ours(runtime: Runtime, kind: Kind, namespace: str, name: str, version: object) -> bool:
    echoes = runtime.echoes
    return (echoes.is_echo(TARGETS[kind], namespace, name, version)
            or echoes.hold(TARGETS[kind], namespace, name, version))


def _forget_unlisted(runtime: Runtime, kind: Kind, namespace: str | None,
                     listed: Set[tuple[str, str]]) -> None:
    """What the cache held that a (re)list lacks was deleted unseen: forgotten (read again) and
    its owner queued."""
    for ns, name in runtime.projected.names(kind, namespace):
        if (ns, name) not in listed:
            runtime.projected.forget(kind, ns, name)
            runtime.queue.add(CrKey(kind, ns, name))


async def _inform(runtime: Runtime, kind: Kind, namespace: str | None, listed: asyncio.Event) -> None:
    """Every listed object recorded (nothing queued), every watch event recorded and its owner queued."""
    informer = informers.labelled(runtime.kube, TARGETS[kind], namespace, label_selector=LABEL_SELECTOR,
                                  limit=PAGE, logger=logger)
    async for change in informer:
        if isinstance(change, Synced):
            _forget_unlisted(runtime, kind, namespace, change.keys)
            listed.set()
        else:
            on_event(runtime, kind, change.type, change.object, listing=change.listed)


async def watch(runtime: Runtime) -> None:
    """List and watch every served namespace's projected objects; the cache is primed (misses
    mean absent) once every list is in."""
    patterns = runtime.options.namespaces
    scopes: list[str | None] = list(patterns) if namespaces.is_static(patterns) else [None]
    listed = [asyncio.Event() for _ in TARGETS for _ in scopes]
    tasks = [asyncio.create_task(_inform(runtime, kind, scope, listed[i * len(scopes) + j]))
             for i, kind in enumerate(TARGETS) for j, scope in enumerate(scopes)]
    try:
        for event in listed:
            await event.wait()
        runtime.projected.primed()
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
