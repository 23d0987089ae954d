"""Namespaced core objects by plural (`secrets`, `configmaps`): read, create, merge-patch.

One implementation for every caller that keeps a Secret or ConfigMap by name: the projected
objects (controller/projector.py), the published sealing-key and signer ConfigMaps
(controller/publisher.py) and the webhook's certificate Secret (webhook/secret_certs.py). The
writes are the conditional kind: a create fails when the object exists, and a merge patch that
carries `metadata.resourceVersion` fails when the object changed since it was read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ironflow.k8s.async_client import Kube
from ironflow.k8s.informer import list_items
from ironflow.k8s.paths import core_path


async def get_object(kube: Kube, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The object, or None when it does not exist."""
    return await kube.get(core_path(plural, namespace, name))


async def create_object(kube: Kube, plural: str, namespace: str,
                        body: Mapping[str, Any]) -> dict[str, Any]:
    return await kube.create(core_path(plural, namespace), body)


async def patch_object(kube: Kube, plural: str, namespace: str, name: str,
                       patch: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch; a `metadata.resourceVersion` in `patch` makes it conditional."""
    return await kube.merge_patch(core_path(plural, namespace, name), patch)


def list_labelled_objects(kube: Kube, plural: str, namespace: str, label_selector: str, *,
                          limit: int) -> AsyncIterator[dict[str, Any]]:
    """Every object of one namespace carrying the label, fetched in pages of `limit`."""
    return list_items(kube, core_path(plural, namespace), {"labelSelector": label_selector}, limit=limit)
