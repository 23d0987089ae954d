"""SIGTERM hands the Lease over before kopf's own (slow) stop begins."""

from __future__ import annotations

import asyncio
import types

from ironflow.controller import main


def test_given_leader_when_sigterm_then_loop_stopped_events_posted_lease_released_then_kopf_stops() -> None:
    order: list[str] = []

    async def scenario() -> None:
        stop = asyncio.Event()

        async def election() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                order.append("election loop stopped")
                raise

        async def drain(_: float) -> None:
            order.append("events posted")

        async def release() -> None:
            assert not stop.is_set(), "kopf was told to stop before the Lease was released"
            order.append("lease released")

        async def delete_member() -> None:
            assert not stop.is_set(), "kopf was told to stop before the member Lease was deleted"
            order.append("member lease deleted")

        runtime = types.SimpleNamespace(events=types.SimpleNamespace(drain=drain),
                                        shares=types.SimpleNamespace(release=delete_member),
                                        leadership=types.SimpleNamespace(release=release))
        loop_task = asyncio.create_task(election())
        await asyncio.sleep(0)
        await main._hand_over(runtime, (loop_task,), stop)  # type: ignore[arg-type]
        assert stop.is_set()
        await main._hand_over(runtime, (loop_task,), stop)  # a second SIGTERM: nothing again

    asyncio.run(scenario())
    assert order == ["election loop stopped", "events posted", "member lease deleted", "lease released"]
