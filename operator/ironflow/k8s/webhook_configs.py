"""The MutatingWebhookConfiguration the pod webhook is registered in: read it, patch its caBundle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironflow.k8s.admission import WEBHOOK_CONFIGURATIONS
from ironflow.k8s.async_client import Kube
from ironflow.k8s.paths import group_path


def _path(name: str) -> str:
    return group_path(WEBHOOK_CONFIGURATIONS, "mutatingwebhookconfigurations", name=name)


async def get_webhook_configuration(kube: Kube, name: str) -> dict[str, Any] | None:
    """The configuration, or None when it is not installed (yet)."""
    return await kube.get(_path(name))


async def patch_webhook_configuration(kube: Kube, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch; a `metadata.resourceVersion` in `patch` makes it conditional."""
    return await kube.merge_patch(_path(name), patch)
