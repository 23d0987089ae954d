"""A workload that keeps changing under the rollout check is retried, never taken as done.

The stand-in below answers every guarded patch with 409, as the API server does while the
deployment controller rewrites a new Deployment's status; the real race is exercised by
tests/integration/test_rollouts.py against the API server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers_ironflow_env import view

from ironflow.controller.rollouts import ATTEMPTS, reconcile_workload
from ironflow.k8s.async_client import ApiError


class _AlwaysChanged:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.patches = 0

    async def merge_patch(self, path: str, patch: Any) -> dict[str, Any]:
        self.patches += 1
        raise ApiError(409, "Conflict", "the object has been modified")

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        return self.body


def _deployment() -> dict[str, Any]:
    return {
        "metadata": {"namespace": "dev", "name": "web", "resourceVersion": "7", "annotations": {}},
        "spec": {"template": {"metadata": {"annotations": {"ironflow.io/secrets": "DB_PASSWORD"}}}},
    }


def test_given_workload_changing_on_every_attempt_when_baseline_recorded_then_conflict_raised() -> None:
    kube = _AlwaysChanged(_deployment())
    env = view(secrets={"app": {"DB_PASSWORD": "v1"}})

    with pytest.raises(ApiError) as raised:
        asyncio.run(reconcile_workload(kube, "deployments", _deployment(), env))  # type: ignore[arg-type]

    assert raised.value.status == 409
    assert kube.patches == ATTEMPTS
