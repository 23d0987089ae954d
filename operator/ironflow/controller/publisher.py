"""Publish the public sealing key (`ironflow-sealing-key` ConfigMap) in each served namespace.

Users and CI seal with what this ConfigMap says, so it must never announce a key the operator
cannot unseal with: in dev mode it carries no key, with a malformed master key it says
`invalid-key` and carries no key, so the CLI refuses to seal rather than seal for a stale key.
"""

from __future__ import annotations

import logging
from typing import Any

from ironflow import metrics
from ironflow.controller.namespaces import is_static
from ironflow.controller.state import Runtime
from ironflow.core.crypto import ALGORITHM, SEALING_KEY_CONFIGMAP, sealing_key_configmap_data
from ironflow.core.outcomes import KeyState
from ironflow.core.projection import labels
from ironflow.k8s.async_client import ApiError, core_path

logger = logging.getLogger("ironflow.sealing-key")


def desired_data(keys: KeyState) -> dict[str, str]:
    data = {"algorithm": ALGORITHM, "mode": keys.mode}
    if keys.keyring is not None and keys.keyring.current is not None:
        data.update(sealing_key_configmap_data(keys.keyring.current))
    return data


async def publish(runtime: Runtime, namespace: str, keys: KeyState) -> None:
    kube = runtime.kube
    path = core_path("configmaps", namespace, SEALING_KEY_CONFIGMAP)
    data = desired_data(keys)
    try:
        current = await kube.get(path)
        if current is None:
            body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": SEALING_KEY_CONFIGMAP, "namespace": namespace,
                                                 "labels": labels()},
                                    "data": data}
            await kube.create(core_path("configmaps", namespace), body)
            metrics.API_WRITES.labels(resource="configmaps", verb="create").inc()
            logger.info("published %s in %s (mode %s)", SEALING_KEY_CONFIGMAP, namespace, keys.mode)
            return
        meta = current.get("metadata") or {}
        have = current.get("data") or {}
        if have == data and all((meta.get("labels") or {}).get(k) == v for k, v in labels().items()):
            return
        patch_data: dict[str, str | None] = dict(data)
        patch_data.update({k: None for k in have if k not in data})
        await kube.merge_patch(path, {"metadata": {"resourceVersion": meta.get("resourceVersion"),
                                                   "labels": labels()}, "data": patch_data})
        metrics.API_WRITES.labels(resource="configmaps", verb="patch").inc()
        logger.info("updated %s in %s (mode %s)", SEALING_KEY_CONFIGMAP, namespace, keys.mode)
    except ApiError as exc:
        gone = exc.status == 404 or (exc.status == 403 and "terminat" in exc.message)
        if gone and not is_static(runtime.options.namespaces):
            return  # a discovered namespace that is gone or going: its watch event drops it
        raise  # a named namespace that does not exist (yet): retried with backoff until it does
