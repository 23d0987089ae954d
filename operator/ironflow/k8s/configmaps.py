"""ConfigMaps beyond one-object reads and writes (k8s/core_objects.py): the withdrawal of the
published sealing-key ConfigMap, a cluster-wide list and a conditional delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironflow.k8s.async_client import Kube
from ironflow.k8s.paths import core_path


async def list_configmaps_everywhere(kube: Kube, query: Mapping[str, str]) -> dict[str, Any]:
    """One cluster-wide list (one page) filtered by `query`'s selectors; 403 without the right."""
    return await kube.request("GET", core_path("configmaps"), query=query)


async def delete_configmap(kube: Kube, namespace: str, name: str, options: Mapping[str, Any]) -> None:
    """`options` is a DeleteOptions body: its preconditions make the delete conditional (409)."""
    await kube.request("DELETE", core_path("configmaps", namespace, name), body=options)
