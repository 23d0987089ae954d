"""The periodic sweep (controller/stale.py): a resource whose status is behind its spec, with no
work waiting for it, is queued again and counted; anything with work waiting, up to date, or not
this replica's is left alone."""

from __future__ import annotations

import asyncio
import logging
import types
from typing import Any

import pytest

from ironflow import metrics
from ironflow.controller import stale
from ironflow.controller.cache import Cache
from ironflow.controller.work import CrKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.core.model import API_VERSION, CONFIG_KIND, SECRET_KIND, Kind


def _body(kind: Kind, namespace: str, name: str, generation: int, observed: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": API_VERSION, "kind": kind,
        "metadata": {"namespace": namespace, "name": name, "uid": f"uid-{namespace}-{name}",
                     "creationTimestamp": "2026-01-01T00:00:00Z", "resourceVersion": "7",
                     "generation": generation},
    }
    body["spec"] = {"sealed": {name.upper(): f"dev:{name}"}} if kind == SECRET_KIND else {"data": {"V": "v"}}
    if observed is not None:
        body["status"] = {"observedGeneration": observed}
    return body


def _runtime(*bodies: dict[str, Any], owned: frozenset[str] = frozenset({"dev"})) -> types.SimpleNamespace:
    cache = Cache()
    for body in bodies:
        cache.put(body["kind"], body)
    return types.SimpleNamespace(cache=cache, queue=WorkQueue(), owns=lambda namespace: namespace in owned)


def _requeued(kind: Kind) -> float:
    return metrics.REGISTRY.get_sample_value("ironflow_stale_requeued_total", {"kind": kind}) or 0.0


def test_given_a_change_no_work_waits_for_when_swept_then_it_is_queued_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = _runtime(_body(SECRET_KIND, "dev", "lost", 3, 2), _body(SECRET_KIND, "dev", "fine", 3, 3))
    before = _requeued(SECRET_KIND)

    with caplog.at_level(logging.WARNING, logger="ironflow.stale"):
        assert stale.sweep(runtime) == 1  # type: ignore[arg-type]

    assert runtime.queue._queued == {CrKey(SECRET_KIND, "dev", "lost")}
    assert _requeued(SECRET_KIND) == before + 1
    assert "1 resource(s) had a status behind their spec" in caplog.text and "dev/lost" in caplog.text
    assert stale.sweep(runtime) == 0  # type: ignore[arg-type]  # queued now: not again


def test_given_a_resource_whose_status_was_never_written_when_swept_then_it_is_queued() -> None:
    runtime = _runtime(_body(CONFIG_KIND, "dev", "new", 1, None))
    assert stale.stale(runtime) == [CrKey(CONFIG_KIND, "dev", "new")]  # type: ignore[arg-type]


def test_given_work_waiting_running_or_retrying_when_swept_then_nothing_is_queued_twice() -> None:
    queued, running, retrying = (CrKey(SECRET_KIND, "dev", n) for n in ("queued", "running", "retrying"))
    runtime = _runtime(*(_body(SECRET_KIND, "dev", k.name, 2, 1) for k in (queued, running, retrying)))

    async def scenario() -> None:
        runtime.queue.add(queued)
        runtime.queue._active.add(running)
        runtime.queue.retry(retrying)
        assert stale.stale(runtime) == []  # type: ignore[arg-type]
        runtime.queue._active.discard(running)
        assert stale.stale(runtime) == [running]  # type: ignore[arg-type]

    asyncio.run(scenario())


def test_given_a_resource_behind_in_a_namespace_not_owned_here_when_swept_then_its_owner_has_it() -> None:
    runtime = _runtime(_body(SECRET_KIND, "dev", "mine", 2, 2), _body(SECRET_KIND, "theirs", "app", 2, 1))
    assert stale.stale(runtime) == []  # type: ignore[arg-type]
    runtime.owns = lambda _namespace: False  # a standby, or a leader past its renew deadline
    runtime.cache.put(SECRET_KIND, _body(SECRET_KIND, "dev", "mine", 3, 2))
    assert stale.stale(runtime) == []  # type: ignore[arg-type]


def test_given_bodies_with_odd_status_when_judged_then_only_a_known_generation_counts() -> None:
    assert stale.behind({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}})
    assert stale.behind({"metadata": {"generation": 2}, "status": "not a mapping"})
    assert not stale.behind({"metadata": {"generation": 2}, "status": {"observedGeneration": 2}})
    assert not stale.behind({"metadata": {}, "status": {}})  # no generation: nothing to compare
    assert not stale.behind({"metadata": "odd"})


def test_given_the_sweep_running_when_its_period_passes_then_a_lost_change_is_queued() -> None:
    runtime = _runtime(_body(CONFIG_KIND, "dev", "lost", 2, 1))

    async def scenario() -> None:
        runtime.cache_synced = asyncio.Event()
        worked: asyncio.Queue[CrKey] = asyncio.Queue()

        async def handle(key: CrKey) -> None:
            worked.put_nowait(key)

        sweeping = asyncio.create_task(stale.run(runtime, every=0.01))  # type: ignore[arg-type]
        working = asyncio.create_task(runtime.queue.worker(handle))
        runtime.cache_synced.set()
        assert await asyncio.wait_for(worked.get(), 5) == CrKey(CONFIG_KIND, "dev", "lost")
        sweeping.cancel()
        working.cancel()

    asyncio.run(scenario())
