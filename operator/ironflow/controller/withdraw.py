"""Withdraw the sealing key from namespaces the operator no longer serves.

After `namespaces` is narrowed, the `ironflow-sealing-key` ConfigMaps published in the namespaces
left out would stay: `ironflow status` would list those environments as keyed, and the CLI would
seal for a key no operator there unseals with. So a new leader lists them (by name and the
managed-by label: the only ConfigMaps it may list or delete outside what it serves) and deletes
each in a namespace it does not serve, with the uid and resourceVersion it saw as preconditions.

Only its own: one marked as published by this installation (its operator namespace), or an
unmarked one (published before the mark existed) announcing a key id of this operator's keyring.
Another installation's ConfigMap, serving other namespaces, is left alone.
Without the permission (an older chart), it logs what to delete by hand and carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from ironflow.controller import namespaces
from ironflow.controller.state import Runtime
from ironflow.core.crypto import SEALING_KEY_CONFIGMAP
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL
from ironflow.core.sealing_key import CM_KEY_ID
from ironflow.k8s.async_client import ApiError
from ironflow.k8s.configmaps import delete_configmap, list_configmaps_everywhere

logger = logging.getLogger("ironflow.sealing-key")
PUBLISHED_BY: Final = "ironflow.io/published-by"


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def to_withdraw(items: list[Any], served: Callable[[str], bool], operator_namespace: str,
                kids: tuple[str, ...]) -> list[Mapping[str, Any]]:
    """The listed ConfigMaps that are this operator's and sit in a namespace it does not serve."""
    out = []
    for item in items:
        meta = _map(_map(item).get("metadata"))
        namespace = str(meta.get("namespace") or "")
        if meta.get("name") != SEALING_KEY_CONFIGMAP or not namespace or served(namespace):
            continue
        if _map(meta.get("labels")).get(MANAGED_BY_LABEL) != MANAGED_BY:
            continue
        mark = _map(meta.get("annotations")).get(PUBLISHED_BY)
        kid = _map(_map(item).get("data")).get(CM_KEY_ID)
        if mark == operator_namespace or (mark is None and kid is not None and kid in kids):
            out.append(item)
    return out


async def withdraw_unserved(runtime: Runtime) -> None:
    options, kube = runtime.options, runtime.kube
    query = {"fieldSelector": f"metadata.name={SEALING_KEY_CONFIGMAP}",
             "labelSelector": f"{MANAGED_BY_LABEL}={MANAGED_BY}"}
    try:
        listing = await list_configmaps_everywhere(kube, query)
    except ApiError as exc:
        if exc.status != 403:
            raise
        logger.info("not allowed to list %s ConfigMaps cluster-wide: any left in namespaces no longer served "
                    "stay (delete them with kubectl delete configmap %s -n NAMESPACE)",
                    SEALING_KEY_CONFIGMAP, SEALING_KEY_CONFIGMAP)
        return

    def served(namespace: str) -> bool:
        return (namespaces.matches(options.namespaces, namespace)
                and namespace not in options.sealing_key_excluded)

    keyring = runtime.keys.keyring if runtime.keys is not None else None
    kids = keyring.kids if keyring is not None else ()
    for item in to_withdraw(list(listing.get("items") or []), served, options.operator_namespace, kids):
        meta = _map(item.get("metadata"))
        namespace = str(meta["namespace"])
        body = {"apiVersion": "v1", "kind": "DeleteOptions",
                "preconditions": {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}}
        try:
            await delete_configmap(kube, namespace, SEALING_KEY_CONFIGMAP, body)
        except ApiError as exc:
            if exc.status in (404, 409):  # gone already, or changed since listed: no longer what we saw
                continue
            if exc.status == 403:
                logger.warning("namespace %s is no longer served, but deleting its %s was refused: delete it "
                               "by hand", namespace, SEALING_KEY_CONFIGMAP)
                continue
            raise
        logger.info("withdrew %s from %s: the namespace is no longer served",
                    SEALING_KEY_CONFIGMAP, namespace)
