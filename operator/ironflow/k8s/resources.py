"""Ironflow's own resources (IronflowSecret, IronflowConfig), by plural, namespace and name.

The controller names what it reads or writes; the group/version and the path are built here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ironflow.core.model import API_VERSION
from ironflow.k8s.async_client import Kube
from ironflow.k8s.informer import PAGE, list_items
from ironflow.k8s.paths import group_path


def _path(plural: str, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    return group_path(API_VERSION, plural, namespace, name, sub)


def list_resources(kube: Kube, plural: str, namespace: str | None = None, *,
                   limit: int = PAGE) -> AsyncIterator[dict[str, Any]]:
    """Every resource of one namespace, or of all (None), fetched in pages of `limit`."""
    return list_items(kube, _path(plural, namespace), limit=limit)


async def list_labelled(kube: Kube, plural: str, namespace: str | None,
                        label_selector: str) -> dict[str, Any]:
    """One list (a single request, no paging) of the resources carrying a label."""
    return await kube.request("GET", _path(plural, namespace), query={"labelSelector": label_selector})


async def get_resource(kube: Kube, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The resource, or None when it does not exist."""
    return await kube.get(_path(plural, namespace, name))


async def patch_resource(kube: Kube, plural: str, namespace: str, name: str,
                         patch: Mapping[str, Any]) -> dict[str, Any]:
    return await kube.merge_patch(_path(plural, namespace, name), patch)


async def patch_status(kube: Kube, plural: str, namespace: str, name: str,
                       patch: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch of the status subresource; `patch` is the whole body (`{"status": ...}`)."""
    return await kube.merge_patch(_path(plural, namespace, name, "status"), patch)


async def delete_resource(kube: Kube, plural: str, namespace: str, name: str,
                          options: Mapping[str, Any]) -> None:
    """`options` is a DeleteOptions body: its preconditions make the delete conditional (409)."""
    await kube.request("DELETE", _path(plural, namespace, name), body=options)
