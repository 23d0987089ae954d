"""Reading Ironflow's CustomResourceDefinitions, to compare their version with the operator's."""

from __future__ import annotations

from typing import Any, Final

from ironflow.k8s.async_client import Kube
from ironflow.k8s.paths import group_path

_CRDS: Final = group_path("apiextensions.k8s.io/v1", "customresourcedefinitions")


async def find_crd(kube: Kube, name: str) -> dict[str, Any] | None:
    """The CRD named `name`, or None when it is not installed (a list filtered by name)."""
    listed = await kube.request("GET", _CRDS, query={"fieldSelector": f"metadata.name={name}"})
    items: list[dict[str, Any]] = listed.get("items") or []
    return items[0] if items else None
