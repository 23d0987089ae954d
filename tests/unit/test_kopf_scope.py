"""kopf watches once across the cluster unless only plain names are served; its handlers then
drop the events of namespaces not served, before they cache, list or queue anything."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
import pytest

from ironflow.controller import cr_events, rollouts
from ironflow.controller.namespaces import kopf_scope
from ironflow.controller.state import Options, Runtime
from ironflow.core.model import SECRET_KIND
from ironflow.k8s.config import ClusterChoice

SERVED = ("team-*", "!team-legacy")


class _ListsNothing:
    """An API server with no resources; counts what it is asked."""

    write_guard = None

    def __init__(self) -> None:
        self.requests: list[str] = []

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        self.requests.append(f"{method} {path}")
        return {"items": [], "metadata": {"resourceVersion": "1"}}


def _runtime(patterns: tuple[str, ...]) -> tuple[Runtime, _ListsNothing]:
    kube = _ListsNothing()
    options = Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False),
                      namespaces=patterns, operator_namespace="ironflow-system",
                      master_key_secret="ironflow-master-key", metrics_port=0, health_port=0,
                      bind_address="127.0.0.1", workers=1)
    return Runtime(options=options, kube=kube), kube  # type: ignore[arg-type]


def _event(namespace: str, kind: str = "IronflowSecret") -> dict[str, Any]:
    body = {"apiVersion": "ironflow.io/v1alpha1", "kind": kind,
            "metadata": {"namespace": namespace, "name": "app", "uid": "u1", "resourceVersion": "5"},
            "spec": {"sealed": {}}}
    return {"type": "ADDED", "object": body}


@pytest.mark.parametrize("patterns", [(), ("team-*",), ("!kube-*",), SERVED], ids=repr)
def test_given_all_globs_or_exclusions_when_scoped_then_kopf_watches_once_across_the_cluster(
    patterns: tuple[str, ...],
) -> None:
    assert kopf_scope(patterns) == (True, [])


def test_given_plain_names_when_scoped_then_kopf_watches_each_named_namespace_only() -> None:
    assert kopf_scope(("team-a", "other")) == (False, ["team-a", "other"])


@pytest.mark.parametrize("namespace", ["other", "team-legacy", "kube-system"])
def test_given_unserved_namespace_when_kopf_delivers_its_events_then_nothing_cached_listed_or_queued(
    namespace: str,
) -> None:
    runtime, kube = _runtime(SERVED)
    memo = kopf.Memo(runtime=runtime)
    event = _event(namespace)

    async def deliver() -> None:
        await cr_events.ironflow_secret_event(event=event, namespace=namespace, name="app", memo=memo)
        await rollouts.deployment_declares(event=event, namespace=namespace, memo=memo)

    asyncio.run(deliver())
    assert runtime.cache.get(SECRET_KIND, namespace, "app") is None
    assert runtime.queue.depth == 0
    assert kube.requests == []
    assert runtime.rollouts.versions == {} and runtime.rollouts.workloads == {}


def test_given_served_namespace_when_kopf_delivers_its_event_then_cached_and_queued() -> None:
    runtime, _ = _runtime(SERVED)
    memo = kopf.Memo(runtime=runtime)

    event = _event("team-a")

    async def deliver() -> None:
        await cr_events.ironflow_secret_event(event=event, namespace="team-a", name="app", memo=memo)

    asyncio.run(deliver())
    assert runtime.cache.get(SECRET_KIND, "team-a", "app") is not None
    assert runtime.queue.depth == 2  # its reconcile and the environment's rollout check
