"""One kopf event handler per Ironflow kind runs both parts, rollouts first, each whatever the other did."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
import pytest
from kopf._cogs.structs import references

from ironflow.controller import cr_events, resources, rollouts
from ironflow.controller import registry as _registry  # registers every handler of the operator
from ironflow.controller.state import Options, Runtime
from ironflow.controller.work import CrKey, RolloutKey
from ironflow.core.model import CONFIG_KIND, GROUP, PLURALS, SECRET_KIND, VERSION, Kind
from ironflow.k8s.config import ClusterChoice

_ = _registry
NS = "dev"


class _ListsNothing:
    write_guard = None

    async def request(self, *_: Any, **__: Any) -> dict[str, Any]:
        return {"items": [], "metadata": {"resourceVersion": "1"}}


def _runtime() -> Runtime:
    options = Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False),
                      namespaces=(), operator_namespace="ironflow-system",
                      master_key_secret="ironflow-master-key", metrics_port=0, health_port=0,
                      bind_address="127.0.0.1", workers=1)
    return Runtime(options=options, kube=_ListsNothing())  # type: ignore[arg-type]


def _event(kind: Kind) -> dict[str, Any]:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
            "metadata": {"namespace": NS, "name": "app", "uid": "u1", "resourceVersion": "5"},
            "spec": {"sealed": {}} if kind == SECRET_KIND else {"values": {}}}
    return {"type": "ADDED", "object": body}


@pytest.mark.parametrize("kind", [SECRET_KIND, CONFIG_KIND])
def test_given_operator_handlers_when_registered_then_exactly_one_event_handler_per_ironflow_kind(
    kind: Kind,
) -> None:
    resource = references.Resource(group=GROUP, version=VERSION, plural=PLURALS[kind])
    handlers = [h for h in kopf.get_default_registry()._watching.get_all_handlers()
                if h.selector is not None and h.selector.check(resource)]
    assert [h.id for h in handlers] == [f"ironflow_{kind.removeprefix('Ironflow').lower()}_event"]


def test_given_an_event_when_the_handler_runs_then_the_rollouts_part_runs_before_the_resources_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    async def rollouts_part(*_: Any) -> None:
        calls.append("rollouts")

    async def resources_part(*_: Any) -> None:
        calls.append("resources")

    monkeypatch.setattr(rollouts, "on_environment_event", rollouts_part)
    monkeypatch.setattr(resources, "on_resource_event", resources_part)
    asyncio.run(cr_events.on_event(_runtime(), CONFIG_KIND, _event(CONFIG_KIND), NS, "app"))
    assert calls == ["rollouts", "resources"]  # the order kopf ran the two handlers in before


@pytest.mark.parametrize("kind", [SECRET_KIND, CONFIG_KIND])
def test_given_resources_part_raises_when_event_arrives_then_rollouts_part_still_queues_and_error_goes_on(
    kind: Kind, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("resources part broke")

    monkeypatch.setattr(resources, "on_resource_event", broken)
    runtime = _runtime()
    with pytest.raises(RuntimeError, match="resources part broke"):
        asyncio.run(cr_events.on_event(runtime, kind, _event(kind), NS, "app"))
    assert runtime.queue._queued == {RolloutKey(NS)}


@pytest.mark.parametrize("kind", [SECRET_KIND, CONFIG_KIND])
def test_given_rollouts_part_raises_when_event_arrives_then_resources_part_still_caches_and_error_goes_on(
    kind: Kind, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("rollouts part broke")

    monkeypatch.setattr(rollouts, "on_environment_event", broken)
    runtime = _runtime()
    with pytest.raises(RuntimeError, match="rollouts part broke"):
        asyncio.run(cr_events.on_event(runtime, kind, _event(kind), NS, "app"))
    assert runtime.cache.get(kind, NS, "app") is not None
    assert runtime.queue._queued == {CrKey(kind, NS, "app")}


def test_given_both_parts_raise_when_an_event_arrives_then_kopf_gets_the_second_error_chained_to_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def rollouts_broken(*_: Any) -> None:
        raise RuntimeError("rollouts part broke")

    async def resources_broken(*_: Any) -> None:
        raise ValueError("resources part broke")

    monkeypatch.setattr(rollouts, "on_environment_event", rollouts_broken)
    monkeypatch.setattr(resources, "on_resource_event", resources_broken)
    with pytest.raises(ValueError, match="resources part broke") as raised:
        asyncio.run(cr_events.on_event(_runtime(), SECRET_KIND, _event(SECRET_KIND), NS, "app"))
    assert isinstance(raised.value.__context__, RuntimeError)  # kopf's logged traceback shows both
