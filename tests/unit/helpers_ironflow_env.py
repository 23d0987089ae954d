"""Builders for environment views and pods shared by the webhook/rollout unit tests."""

from __future__ import annotations

from typing import Any

from ironflow.core.environment_view import EnvironmentView, build_view


def resource(name: str, created: str, names: dict[str, str | None], field: str) -> dict[str, Any]:
    """A listed IronflowSecret/Config: names -> status version (None: not versioned yet)."""
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {field: {n: "dev:x" if field == "sealed" else 1 for n in names}},
        "status": {"names": {n: {"version": v} for n, v in names.items() if v is not None}},
    }


def view(
    secrets: dict[str, dict[str, str | None]] | None = None,
    configs: dict[str, dict[str, str | None]] | None = None,
    namespace: str = "dev",
    foreign: tuple[tuple[str, str], ...] = (),
) -> EnvironmentView:
    s = [
        resource(r, f"2026-01-0{i + 1}T00:00:00Z", n, "sealed")
        for i, (r, n) in enumerate((secrets or {}).items())
    ]
    c = [
        resource(r, f"2026-01-0{i + 1}T00:00:00Z", n, "values")
        for i, (r, n) in enumerate((configs or {}).items())
    ]
    return build_view(namespace, s, c, foreign=foreign)


def pod(
    annotations: dict[str, str], *containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers) or [{"name": "app", "image": "x"}]}
    if init:
        spec["initContainers"] = list(init)
    return {"metadata": {"name": "p", "annotations": annotations}, "spec": spec}
