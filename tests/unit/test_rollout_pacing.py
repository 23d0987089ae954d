"""Rollout checks of a namespace are paced, and derive no view where no workload declares anything."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from ironflow.controller import rollouts
from ironflow.controller.state import RolloutMemory
from ironflow.controller.workqueue import WorkQueue
from ironflow.k8s.workloads import WORKLOAD_RESOURCES


class _Kube:
    def __init__(self) -> None:
        self.gets: list[str] = []

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        self.gets.append(path)
        return {"items": [{"metadata": {"name": "plain", "namespace": "dev"}, "spec": {}}]}


class _NoCache:
    async def prime(self, *_: Any) -> None:
        raise AssertionError("the environment's view was derived although no workload declares anything")


def test_given_check_just_ran_when_queued_again_then_deferred_to_the_end_of_the_interval() -> None:
    async def scenario() -> tuple[int, int, int]:
        runtime: Any = SimpleNamespace(kube=_Kube(), queue=WorkQueue(), cache=_NoCache(),
                                       rollouts=RolloutMemory())
        await rollouts.reconcile_environment(runtime, "dev")
        listed = len(runtime.kube.gets)
        await rollouts.reconcile_environment(runtime, "dev")  # a burst of events re-queued it
        deferred = runtime.queue.depth
        await rollouts.reconcile_environment(runtime, "other")  # another namespace is not held back
        return listed, len(runtime.kube.gets) - listed, deferred

    listed, more, deferred = asyncio.run(scenario())
    assert listed == len(WORKLOAD_RESOURCES)
    assert more == len(WORKLOAD_RESOURCES)  # only "other" listed its workloads
    assert deferred == 1  # "dev" waits on a timer: counted as pending work


def test_given_interval_over_when_queued_again_then_checked() -> None:
    async def scenario() -> int:
        runtime: Any = SimpleNamespace(kube=_Kube(), queue=WorkQueue(), cache=_NoCache(),
                                       rollouts=RolloutMemory())
        await rollouts.reconcile_environment(runtime, "dev")
        runtime.rollouts.last_check["dev"] -= rollouts.ROLLOUT_INTERVAL  # as if the interval had passed
        await rollouts.reconcile_environment(runtime, "dev")
        return len(runtime.kube.gets)

    assert asyncio.run(scenario()) == 2 * len(WORKLOAD_RESOURCES)
