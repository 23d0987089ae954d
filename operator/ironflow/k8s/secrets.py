"""Secrets by name: the webhook's certificate pair and the projected Secrets go through here.

Callers name a namespace and a Secret; the path (and its escaping) is built only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironflow.k8s.async_client import Kube
from ironflow.k8s.paths import core_path


async def get_secret(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    """The Secret, or None when it does not exist."""
    return await kube.get(core_path("secrets", namespace, name))


async def create_secret(kube: Kube, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return await kube.create(core_path("secrets", namespace), body)


async def patch_secret(kube: Kube, namespace: str, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch; a `metadata.resourceVersion` in `patch` makes it conditional."""
    return await kube.merge_patch(core_path("secrets", namespace, name), patch)
