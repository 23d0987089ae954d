"""Publish what users seal for: `ironflow-sealing-key` in each served namespace, signed, and the
signer anchor `ironflow-signing-key` in the operator's namespace.

Users and CI seal with what these say, so they must never announce a key the operator cannot
unseal with: without a key (dev mode or no-key) or with a malformed one they carry only the mode,
so the CLI refuses to seal rather than seal for a stale key. In keyed mode the environment's
ConfigMap is signed by a key derived from the master key and bound to its namespace: a tenant who
can edit ConfigMaps can break it, never make the CLI seal for another key (core/key_publication.py).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from ironflow import metrics
from ironflow.controller.namespaces import is_static
from ironflow.controller.state import Runtime
from ironflow.controller.withdraw import PUBLISHED_BY
from ironflow.core.crypto import SEALING_KEY_CONFIGMAP
from ironflow.core.key_publication import SIGNING_KEY_CONFIGMAP, anchor_data, sealing_key_data
from ironflow.core.outcomes import KeyState
from ironflow.core.projection import labels
from ironflow.k8s.async_client import ApiError
from ironflow.k8s.core_objects import create_object, get_object, patch_object

logger = logging.getLogger("ironflow.sealing-key")


def desired_data(keys: KeyState, namespace: str) -> dict[str, str]:
    return sealing_key_data(keys.keyring, keys.mode, namespace)


CONFLICT_RETRIES: Final = 3


async def _put(runtime: Runtime, namespace: str, name: str, data: dict[str, str], mode: str) -> None:
    """Put it back at once when someone else wrote in between (409): a tenant rewriting the
    ConfigMap in a loop must not push its repair out to the queue's minute-long backoff."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            await _put_once(runtime, namespace, name, data, mode)
            return
        except ApiError as exc:
            if exc.status != 409 or attempt == CONFLICT_RETRIES - 1:
                raise


async def _put_once(runtime: Runtime, namespace: str, name: str, data: dict[str, str], mode: str) -> None:
    kube = runtime.kube
    current = await get_object(kube, "configmaps", namespace, name)
    mark = {PUBLISHED_BY: runtime.options.operator_namespace}  # whose it is, for withdraw.py
    if current is None:
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": name, "namespace": namespace, "labels": labels(),
                                             "annotations": mark},
                                "data": data}
        await create_object(kube, "configmaps", namespace, body)
        metrics.API_WRITES.labels(resource="configmaps", verb="create").inc()
        logger.info("published %s in %s (mode %s)", name, namespace, mode)
        return
    meta = current.get("metadata") or {}
    have = current.get("data") or {}
    marked = (meta.get("annotations") or {}).get(PUBLISHED_BY) == mark[PUBLISHED_BY]
    if have == data and marked and all((meta.get("labels") or {}).get(k) == v for k, v in labels().items()):
        return
    patch_data: dict[str, str | None] = dict(data)
    patch_data.update({k: None for k in have if k not in data})
    metadata = {"resourceVersion": meta.get("resourceVersion"), "labels": labels(), "annotations": mark}
    await patch_object(kube, "configmaps", namespace, name, {"metadata": metadata, "data": patch_data})
    metrics.API_WRITES.labels(resource="configmaps", verb="patch").inc()
    logger.info("updated %s in %s (mode %s)", name, namespace, mode)


async def publish(runtime: Runtime, namespace: str, keys: KeyState) -> None:
    try:
        await _put(runtime, namespace, SEALING_KEY_CONFIGMAP, desired_data(keys, namespace), keys.mode)
    except ApiError as exc:
        gone = exc.status == 404 or (exc.status == 403 and "terminat" in exc.message)
        if gone and not is_static(runtime.options.namespaces):
            return  # a discovered namespace that is gone or going: its watch event drops it
        raise  # a named namespace that does not exist (yet): retried with backoff until it does


async def publish_anchor(runtime: Runtime, keys: KeyState) -> None:
    """The signer a CLI may pin on first use, where no tenant can write (the operator's namespace)."""
    await _put(runtime, runtime.options.operator_namespace, SIGNING_KEY_CONFIGMAP,
               anchor_data(keys.keyring, keys.mode), keys.mode)
