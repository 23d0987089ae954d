"""Events are sent beside the reconciles: bounded in flight, stamped at the decision, drained at a stop."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from ironflow.controller.events import EventPoster
from ironflow.core.conditions import Event
from ironflow.core.model import SECRET_KIND, parse_resource
from ironflow.k8s.async_client import ApiError, Kube

RESOURCE = parse_resource(SECRET_KIND, {
    "apiVersion": "ironflow.io/v1alpha1", "kind": SECRET_KIND,
    "metadata": {"name": "app", "namespace": "dev", "uid": "u1", "generation": 1},
    "spec": {"sealed": {}},
})
PROJECTED = Event("Normal", "Projected", "projected 0 value(s)")


class _HeldKube:
    """Holds every create until released, so the test sees what is in flight."""

    def __init__(self, fail: bool = False) -> None:
        self.gate = asyncio.Event()
        self.bodies: list[dict[str, Any]] = []
        self.fail = fail

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.gate.wait()
        if self.fail:
            raise ApiError(403, "Forbidden", "events is forbidden")
        self.bodies.append(body)
        return body


def test_given_slow_api_when_posting_then_reconcile_returns_at_once_and_in_flight_is_bounded() -> None:
    async def scenario() -> tuple[int, bool, int]:
        kube = _HeldKube()
        poster = EventPoster(cast(Kube, kube), limit=2)
        await asyncio.wait_for(poster.post(RESOURCE, PROJECTED), 1)
        await asyncio.wait_for(poster.post(RESOURCE, PROJECTED), 1)
        third = asyncio.create_task(poster.post(RESOURCE, PROJECTED))
        await asyncio.sleep(0)  # let the third try for a slot: a scheduling point, not a wait for time
        blocked = not third.done()
        kube.gate.set()
        await asyncio.wait_for(third, 1)
        await poster.drain(1)
        return poster.in_flight, blocked, len(kube.bodies)

    in_flight, blocked, posted = asyncio.run(scenario())
    assert blocked, "a third post must wait for a free slot"
    assert (in_flight, posted) == (0, 3)


def test_given_event_when_posted_later_then_stamped_with_the_decision_time() -> None:
    async def scenario() -> list[dict[str, Any]]:
        kube = _HeldKube()
        poster = EventPoster(cast(Kube, kube))
        await poster.post(RESOURCE, PROJECTED)
        kube.gate.set()
        await poster.drain(1)
        return kube.bodies

    (body,) = asyncio.run(scenario())
    assert body["reason"] == "Projected" and body["involvedObject"]["uid"] == "u1"
    assert body["firstTimestamp"] == body["lastTimestamp"]


def test_given_events_stuck_when_stopping_then_drain_gives_up_at_its_deadline() -> None:
    async def scenario() -> int:
        kube = _HeldKube()
        poster = EventPoster(cast(Kube, kube))
        await poster.post(RESOURCE, PROJECTED)
        await poster.drain(0.05)
        return poster.in_flight

    assert asyncio.run(scenario()) == 0


def test_given_refused_post_when_sent_then_logged_and_the_slot_freed() -> None:
    async def scenario() -> int:
        kube = _HeldKube(fail=True)
        poster = EventPoster(cast(Kube, kube), limit=1)
        await poster.post(RESOURCE, PROJECTED)
        kube.gate.set()
        await asyncio.wait_for(poster.post(RESOURCE, PROJECTED), 1)  # a slot came back
        await poster.drain(1)
        return poster.in_flight

    assert asyncio.run(scenario()) == 0
