"""The echo of our own write that the watch delivers before the write's answer queues nothing either.

Under load the watch event often overtakes the HTTP answer that names the version, so the echo
could not be recognised and queued a reconcile that found nothing to do. A write is now in flight
until answered; the events meanwhile are held and the answer decides. Nothing may be lost: an
event that was not the echo, or one held for a write that failed, queues the resource.
"""

from __future__ import annotations

import asyncio

import pytest

from ironflow.controller.echoes import OwnWrites

KEY = ("configmaps", "prod", "app")


class _Queue:
    def __init__(self) -> None:
        self.queued = 0

    def add(self) -> None:
        self.queued += 1


def test_given_a_write_in_flight_when_its_echo_comes_before_the_answer_then_nothing_is_queued() -> None:
    writes, queue = OwnWrites(), _Queue()
    with writes.writing(*KEY, queue.add) as write:
        assert writes.hold(*KEY, "11")  # the echo overtakes the answer
        write.version = "11"
    assert queue.queued == 0
    assert len(writes) == 0  # recognised: nothing left to match
    assert not writes.is_echo(*KEY, "11")


def test_given_a_write_in_flight_when_another_version_comes_before_the_answer_then_it_is_queued_at_the_answer(
) -> None:
    writes, queue = OwnWrites(), _Queue()
    with writes.writing(*KEY, queue.add) as write:
        assert writes.hold(*KEY, "10")  # someone else's write
        assert queue.queued == 0  # not yet: the answer decides
        write.version = "11"
    assert queue.queued == 1
    assert writes.is_echo(*KEY, "11")  # our echo, still to come, is recognised as before


def test_given_a_write_in_flight_when_its_echo_and_another_event_come_before_the_answer_then_it_is_queued(
) -> None:
    writes, queue = OwnWrites(), _Queue()
    with writes.writing(*KEY, queue.add) as write:
        assert writes.hold(*KEY, "11")  # our echo
        assert writes.hold(*KEY, "12")  # then someone else's write
        write.version = "11"
    assert queue.queued == 1


def test_given_an_event_held_for_a_write_when_the_write_fails_then_the_event_is_queued() -> None:
    writes, queue = OwnWrites(), _Queue()
    with pytest.raises(RuntimeError), writes.writing(*KEY, queue.add):
        assert writes.hold(*KEY, "12")
        raise RuntimeError("409 Conflict")
    assert queue.queued == 1
    assert len(writes) == 0  # nothing in flight any more, nothing recorded
    assert not writes.hold(*KEY, "13")  # a later event is queued by its handler, as usual


def test_given_an_event_held_for_a_write_when_the_write_is_cancelled_then_the_event_is_queued() -> None:
    writes, queue = OwnWrites(), _Queue()

    async def scenario() -> None:
        held, answer = asyncio.Event(), asyncio.Event()

        async def write() -> None:
            with writes.writing(*KEY, queue.add):
                writes.hold(*KEY, "12")
                held.set()
                await answer.wait()  # never comes: the reconcile is cancelled

        task = asyncio.create_task(write())
        await held.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert queue.queued == 1
    assert len(writes) == 0  # not stuck in flight


def test_given_a_write_that_fails_when_nothing_was_held_then_nothing_is_queued() -> None:
    writes, queue = OwnWrites(), _Queue()
    with pytest.raises(RuntimeError), writes.writing(*KEY, queue.add):
        raise RuntimeError("403 Forbidden")
    assert queue.queued == 0
    assert len(writes) == 0


def test_given_a_write_answered_when_its_echo_comes_after_the_answer_then_it_is_an_echo() -> None:
    writes, queue = OwnWrites(), _Queue()
    with writes.writing(*KEY, queue.add) as write:
        write.version = "11"
    assert not writes.hold(*KEY, "11")  # answered: nothing in flight
    assert writes.is_echo(*KEY, "11")
    assert queue.queued == 0
    assert len(writes) == 0


def test_given_no_write_in_flight_when_an_event_comes_then_it_is_not_held() -> None:
    writes = OwnWrites()
    assert not writes.hold(*KEY, "11")
    with writes.writing("secrets", "prod", "app", lambda: None):
        assert not writes.hold(*KEY, "11")  # another object's write


def test_given_many_events_while_a_write_is_in_flight_then_one_entry_is_kept() -> None:
    writes, queue = OwnWrites(), _Queue()
    with writes.writing(*KEY, queue.add) as write:
        for version in range(20, 1020):
            writes.hold(*KEY, str(version))
        assert len(writes) == 1
        write.version = "11"
    assert queue.queued == 1
    assert len(writes) == 1  # only the version whose echo may still come
