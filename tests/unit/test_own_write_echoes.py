"""The watch echoes of the operator's own writes queue no reconcile; anyone else's version does.

A changed value is written twice (the projected object, the status); both writes come back as
watch events. Each used to queue the resource again, so a change of every value ran three
reconciles per resource, two of them only to find what the first had written.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

from ironflow.controller import drift, projector, resources
from ironflow.controller.echoes import OwnWrites
from ironflow.controller.masterkey import key_state
from ironflow.controller.state import Options, Runtime
from ironflow.controller.work import CrKey
from ironflow.core.model import CONFIG_KIND
from ironflow.k8s.config import ClusterChoice

NS = "prod"
CR = {
    "apiVersion": "ironflow.io/v1alpha1", "kind": CONFIG_KIND,
    "metadata": {"namespace": NS, "name": "app", "uid": "uid-app", "resourceVersion": "5", "generation": 1,
                 "creationTimestamp": "2026-01-01T00:00:00Z"},
    "spec": {"values": {"HTTP_TIMEOUT_MS": 2500}},
}


class _Kube:
    """An API server holding one IronflowConfig: each write answers with the next resourceVersion."""

    write_guard = None

    def __init__(self) -> None:
        self.version = 10
        self.answers: dict[str, dict[str, Any]] = {}
        # what the watches deliver after the write is applied but before its answer reaches us
        self.before_answer: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None

    def _next(self) -> str:
        self.version += 1
        return str(self.version)

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        items = [copy.deepcopy(CR)] if "/ironflowconfigs" in path else []
        return {"items": items, "metadata": {"resourceVersion": "5"}}

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        return None

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = {**copy.deepcopy(body), "metadata": {**body["metadata"], "resourceVersion": self._next()}}
        return await self._answer("object", answer)

    async def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        answer = {**copy.deepcopy(CR), **copy.deepcopy(patch),
                  "metadata": {**CR["metadata"], "resourceVersion": self._next()}}
        return await self._answer("status" if path.endswith("/status") else "object", answer)

    async def _answer(self, what: str, answer: dict[str, Any]) -> dict[str, Any]:
        self.answers[what] = answer
        if self.before_answer is not None:
            await self.before_answer(what, copy.deepcopy(answer))
        return copy.deepcopy(answer)


def _runtime(kube: _Kube) -> Runtime:
    options = Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False), namespaces=(),
                      operator_namespace="ironflow-system", master_key_secret="ironflow-master-key",
                      metrics_port=0, health_port=0, bind_address="127.0.0.1", workers=1)
    runtime = Runtime(options=options, kube=kube)  # type: ignore[arg-type]
    runtime.projected.primed()  # the drift watch has listed: nothing projected yet
    return runtime


def test_given_an_own_write_when_its_version_comes_back_then_it_is_an_echo_once() -> None:
    writes = OwnWrites()
    writes.wrote("configmaps", NS, "app", "11")
    assert not writes.is_echo("configmaps", NS, "app", "10")  # an older event: not ours
    assert not writes.is_echo("secrets", NS, "app", "11")  # another object
    assert writes.is_echo("configmaps", NS, "app", "11")
    assert not writes.is_echo("configmaps", NS, "app", "11")  # recognised once, then forgotten
    assert len(writes) == 0


def test_given_a_resource_projected_when_the_echoes_of_its_writes_arrive_then_nothing_is_queued() -> None:
    async def scenario() -> tuple[Runtime, set[CrKey], set[CrKey]]:
        kube = _Kube()
        runtime = _runtime(kube)
        await resources.on_resource_event(runtime, CONFIG_KIND,
                                          {"type": "ADDED", "object": copy.deepcopy(CR)}, NS, "app")
        assert runtime.queue._queued == {CrKey(CONFIG_KIND, NS, "app")}
        runtime.queue._queued.clear()  # taken by a worker
        await projector.reconcile(runtime, CONFIG_KIND, NS, "app", key_state(None))
        assert set(kube.answers) == {"object", "status"}  # created the ConfigMap, wrote the status
        drift.on_event(runtime, CONFIG_KIND, "ADDED", copy.deepcopy(kube.answers["object"]))
        status_echo = {"type": "MODIFIED", "object": copy.deepcopy(kube.answers["status"])}
        await resources.on_resource_event(runtime, CONFIG_KIND, status_echo, NS, "app")
        after_echoes = set(runtime.queue._queued)
        # someone else's version of the object is news: the resource is looked at again
        edited = copy.deepcopy(kube.answers["object"])
        edited["metadata"]["resourceVersion"] = "99"
        drift.on_event(runtime, CONFIG_KIND, "MODIFIED", edited)
        return runtime, after_echoes, set(runtime.queue._queued)

    runtime, after_echoes, after_edit = asyncio.run(scenario())
    assert after_echoes == set()
    assert len(runtime.echoes) == 0
    assert after_edit == {CrKey(CONFIG_KIND, NS, "app")}


def test_given_a_reconcile_when_the_echoes_of_its_writes_overtake_the_answers_then_nothing_is_queued(
) -> None:
    async def scenario() -> tuple[Runtime, set[CrKey]]:
        kube = _Kube()
        runtime = _runtime(kube)
        await resources.on_resource_event(runtime, CONFIG_KIND,
                                          {"type": "ADDED", "object": copy.deepcopy(CR)}, NS, "app")
        runtime.queue._queued.clear()  # taken by a worker

        async def echo_first(what: str, body: dict[str, Any]) -> None:
            if what == "object":
                drift.on_event(runtime, CONFIG_KIND, "ADDED", body)
            else:
                status_echo = {"type": "MODIFIED", "object": body}
                await resources.on_resource_event(runtime, CONFIG_KIND, status_echo, NS, "app")
            assert runtime.queue._queued == set()  # held until the answer

        kube.before_answer = echo_first
        await projector.reconcile(runtime, CONFIG_KIND, NS, "app", key_state(None))
        assert set(kube.answers) == {"object", "status"}
        # the caches took the early events' bodies
        assert runtime.projected.get(CONFIG_KIND, NS, "app") is not None
        status = runtime.cache.get(CONFIG_KIND, NS, "app")
        assert status is not None
        assert status["metadata"]["resourceVersion"] == kube.answers["status"]["metadata"]["resourceVersion"]
        return runtime, set(runtime.queue._queued)

    runtime, queued = asyncio.run(scenario())
    assert queued == set()
    assert len(runtime.echoes) == 0  # nothing in flight, nothing left to match


def test_given_a_status_write_in_flight_when_someone_edits_the_resource_before_the_answer_then_it_is_queued(
) -> None:
    async def scenario() -> tuple[set[CrKey], set[CrKey]]:
        kube = _Kube()
        runtime = _runtime(kube)
        await resources.on_resource_event(runtime, CONFIG_KIND,
                                          {"type": "ADDED", "object": copy.deepcopy(CR)}, NS, "app")
        runtime.queue._queued.clear()
        during: set[CrKey] = set()

        async def edit_first(what: str, body: dict[str, Any]) -> None:
            if what == "status":
                edited = copy.deepcopy(CR)
                edited["metadata"] = {**edited["metadata"], "resourceVersion": "98", "generation": 2}
                edited["spec"] = {"values": {"HTTP_TIMEOUT_MS": 3000}}
                await resources.on_resource_event(runtime, CONFIG_KIND,
                                                  {"type": "MODIFIED", "object": edited}, NS, "app")
                during.update(runtime.queue._queued)

        kube.before_answer = edit_first
        await projector.reconcile(runtime, CONFIG_KIND, NS, "app", key_state(None))
        return during, set(runtime.queue._queued)

    during, after = asyncio.run(scenario())
    assert during == set()  # held: the answer decides
    assert after == {CrKey(CONFIG_KIND, NS, "app")}  # not the echo: the edit is looked at
