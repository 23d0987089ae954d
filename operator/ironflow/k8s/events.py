"""Posting an Event: the body is the caller's, the path is named here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironflow.k8s.async_client import Kube
from ironflow.k8s.paths import core_path


async def create_event(kube: Kube, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return await kube.create(core_path("events", namespace), body)
