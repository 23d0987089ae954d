"""The supervisor: no long-running task ends unseen (logged, restarted, counted, reported)."""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ironflow import metrics
from ironflow.controller import health
from ironflow.controller.leadership import ElectionOptions
from ironflow.controller.state import Options, Runtime
from ironflow.controller.supervisor import Supervisor
from ironflow.k8s.config import ClusterChoice


def _restarts(task: str) -> float:
    value = metrics.REGISTRY.get_sample_value("ironflow_task_restarts_total", {"task": task})
    return value or 0.0


def _fast(**overrides: float) -> Supervisor:
    return Supervisor(**{"base_delay": 0.001, "max_delay": 0.004, "failing_after": 3, "healthy_after": 30.0,
                         **overrides})  # type: ignore[arg-type]


async def _until(condition: Callable[[], object]) -> None:
    """Polls the condition for at most 5 s (the tasks under test run on millisecond backoffs)."""
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not met within 5 s")


def test_given_task_raising_unexpected_error_when_supervised_then_logged_counted_restarted_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    before = _restarts("unit-crashing")

    async def crashing() -> None:
        runs.append(1)
        raise AttributeError("'str' object has no attribute 'get' SECRET-VALUE")

    async def scenario() -> dict[str, str]:
        supervisor = _fast()
        supervisor.start("unit-crashing", crashing)
        await _until(lambda: len(runs) >= 4)
        failing = supervisor.failing()
        await supervisor.stop()
        return failing

    with caplog.at_level(logging.ERROR, logger="ironflow.supervisor"):
        failing = asyncio.run(scenario())
    assert set(failing) == {"unit-crashing"}
    assert failing["unit-crashing"].startswith("AttributeError (restarted ")
    assert "SECRET-VALUE" not in failing["unit-crashing"]  # the report names the type, not the message
    assert _restarts("unit-crashing") - before >= 3
    crash = next(r for r in caplog.records if "unit-crashing failed" in r.getMessage())
    assert crash.exc_info is not None  # the traceback is logged


def test_given_task_failing_twice_then_running_when_supervised_then_not_reported() -> None:
    runs: list[int] = []
    steady = asyncio.Event()

    async def flaky() -> None:
        runs.append(1)
        if len(runs) <= 2:
            raise KeyError("x")
        steady.set()
        await asyncio.Event().wait()

    async def scenario() -> dict[str, str]:
        supervisor = _fast()
        supervisor.start("unit-flaky", flaky)
        await asyncio.wait_for(steady.wait(), 5)
        failing = supervisor.failing()
        await supervisor.stop()
        return failing

    assert asyncio.run(scenario()) == {}


def test_given_task_ending_without_error_when_supervised_then_restarted_unless_it_completes() -> None:
    endless_runs: list[int] = []
    once_runs: list[int] = []

    async def ends() -> None:
        endless_runs.append(1)

    async def once() -> None:
        once_runs.append(1)

    async def scenario() -> dict[str, str]:
        supervisor = _fast()
        supervisor.start("unit-ends", ends)
        done = supervisor.start("unit-once", once, completes=True)
        await _until(lambda: len(endless_runs) >= 3)
        await done
        failing = supervisor.failing()
        await supervisor.stop()
        return failing

    failing = asyncio.run(scenario())
    assert failing["unit-ends"].startswith("ended unexpectedly")
    assert once_runs == [1]
    assert "unit-once" not in failing


def test_given_failing_task_recovering_when_it_runs_long_enough_then_report_cleared() -> None:
    runs: list[int] = []

    async def recovers() -> None:
        runs.append(1)
        if len(runs) <= 3:
            raise RuntimeError("boom")
        await asyncio.Event().wait()

    async def scenario() -> tuple[dict[str, str], dict[str, str]]:
        supervisor = _fast(healthy_after=0.05)
        supervisor.start("unit-recovers", recovers)
        await _until(lambda: len(runs) >= 4)
        reported = supervisor.failing()
        await _until(lambda: not supervisor.failing())
        cleared = supervisor.failing()
        await supervisor.stop()
        return reported, cleared

    reported, cleared = asyncio.run(scenario())
    assert "unit-recovers" in reported
    assert cleared == {}


def _runtime() -> Runtime:
    options = Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False), namespaces=(),
                      operator_namespace="ops", master_key_secret="key", metrics_port=0, health_port=0,
                      bind_address="127.0.0.1", workers=1,
                      # one replica: /readyz then carries no leader-Lease line (health.py), only
                      # what this test is about
                      election=ElectionOptions(enabled=False))
    kube = types.SimpleNamespace(write_guard=None)
    return Runtime(options=options, kube=kube)  # type: ignore[arg-type]


def test_given_failing_task_when_probed_then_readyz_names_it_and_healthz_only_for_liveness_tasks() -> None:
    async def crashing() -> None:
        raise AttributeError("never shown")

    async def scenario() -> list[tuple[int, str]]:
        runtime = _runtime()
        runtime.supervisor = _fast()
        for event in (runtime.keys_loaded, runtime.kopf_ready, runtime.cache_synced):
            event.set()
        client = TestClient(TestServer(health.app(runtime, health=True, metrics_endpoint=False)))
        await client.start_server()
        answers = []
        try:
            for path in ("/readyz", "/healthz"):
                response = await client.get(path)
                answers.append((response.status, await response.text()))
            runtime.supervisor.start("unit-readiness", crashing)
            await _until(lambda: bool(runtime.supervisor.failing()))
            for path in ("/readyz", "/healthz"):
                response = await client.get(path)
                answers.append((response.status, await response.text()))
            runtime.supervisor.start("unit-liveness", crashing, liveness=True)
            await _until(lambda: bool(runtime.supervisor.failing(liveness=True)))
            for path in ("/healthz", "/readyz"):
                response = await client.get(path)
                answers.append((response.status, await response.text()))
        finally:
            await runtime.supervisor.stop()
            await client.close()
        return answers

    answers = asyncio.run(scenario())
    assert answers[0] == (200, "ready\n")
    assert answers[1] == (200, "ok\n")
    assert answers[2][0] == 503
    assert answers[2][1].startswith("task unit-readiness failing: AttributeError (restarted ")
    assert answers[3] == (200, "ok\n")  # a readiness task does not ask for a new process
    assert answers[4][0] == 503
    assert "task unit-liveness failing: AttributeError" in answers[4][1]
    assert answers[5][0] == 503 and answers[5][1].count("\n") == 1  # one line, both named
    assert answers[5][1].startswith("task unit-liveness failing: ")
    assert "; task unit-readiness failing: " in answers[5][1]
    assert "never shown" not in "".join(text for _, text in answers)
