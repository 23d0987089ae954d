"""The Secrets and ConfigMaps the controller projects, by plural (`secrets`, `configmaps`).

One kind of write for both: a create that fails when the object exists, a merge patch that
carries the resourceVersion the decision was made on (controller/projector.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironflow.k8s.async_client import Kube
from ironflow.k8s.paths import core_path


async def get_projected(kube: Kube, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The object, or None when it does not exist."""
    return await kube.get(core_path(plural, namespace, name))


async def create_projected(kube: Kube, plural: str, namespace: str,
                           body: Mapping[str, Any]) -> dict[str, Any]:
    return await kube.create(core_path(plural, namespace), body)


async def patch_projected(kube: Kube, plural: str, namespace: str, name: str,
                          patch: Mapping[str, Any]) -> dict[str, Any]:
    return await kube.merge_patch(core_path(plural, namespace, name), patch)
