"""ConfigMaps by name: the published sealing-key ConfigMap and its withdrawal.

Callers name a namespace and a ConfigMap; the path (and its escaping) is built only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironflow.k8s.async_client import Kube
from ironflow.k8s.paths import core_path


async def get_configmap(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    """The ConfigMap, or None when it does not exist."""
    return await kube.get(core_path("configmaps", namespace, name))


async def create_configmap(kube: Kube, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return await kube.create(core_path("configmaps", namespace), body)


async def patch_configmap(kube: Kube, namespace: str, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch; a `metadata.resourceVersion` in `patch` makes it conditional."""
    return await kube.merge_patch(core_path("configmaps", namespace, name), patch)


async def list_configmaps_everywhere(kube: Kube, query: Mapping[str, str]) -> dict[str, Any]:
    """One cluster-wide list (one page) filtered by `query`'s selectors; 403 without the right."""
    return await kube.request("GET", core_path("configmaps"), query=query)


async def delete_configmap(kube: Kube, namespace: str, name: str, options: Mapping[str, Any]) -> None:
    """`options` is a DeleteOptions body: its preconditions make the delete conditional (409)."""
    await kube.request("DELETE", core_path("configmaps", namespace, name), body=options)
