"""Typed work keys: every kind of work has a reconcile, keys of two kinds never merge in the queue,
and logs name a key as they always did."""

from __future__ import annotations

import asyncio
import types
import typing
from typing import Any

import pytest

from ironflow.controller import worker
from ironflow.controller.work import (
    AnchorKey,
    CrKey,
    ResealKey,
    RolloutKey,
    SealingKeyKey,
    WithdrawKey,
    WorkKey,
)
from ironflow.controller.workqueue import WorkQueue


def test_given_every_key_type_then_the_dispatch_table_has_exactly_one_reconcile_for_each() -> None:
    assert set(worker.DISPATCH) == set(typing.get_args(WorkKey))


def test_given_keys_of_two_kinds_with_the_same_fields_when_queued_then_both_are_kept() -> None:
    async def scenario() -> int:
        queue: WorkQueue[WorkKey] = WorkQueue()
        for key in (SealingKeyKey("dev"), RolloutKey("dev"), SealingKeyKey("dev"), AnchorKey(), WithdrawKey(),
                    AnchorKey()):
            queue.add(key)
        return queue.depth

    assert asyncio.run(scenario()) == 4


@pytest.mark.parametrize(("key", "text"), [
    (CrKey("IronflowSecret", "dev", "app"), "cr/IronflowSecret/dev/app"),
    (SealingKeyKey("dev"), "sealing-key/dev"),
    (AnchorKey(), "signing-key"),
    (ResealKey("dev", "app"), "reseal/dev/app"),
    (WithdrawKey(), "withdraw-unserved"),
    (RolloutKey("dev"), "rollout/dev"),
])
def test_given_key_when_logged_then_named_as_before(key: WorkKey, text: str) -> None:
    assert str(key) == text


def test_given_each_key_when_handled_then_its_own_reconcile_runs_with_its_fields(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    def record(name: str) -> Any:
        async def reconcile(_runtime: Any, *args: Any) -> None:
            calls.append((name, args[:-1] if args and args[-1] == "keys" else args))
        return reconcile

    monkeypatch.setattr(worker.projector, "reconcile", record("projector"))
    monkeypatch.setattr(worker.publisher, "publish", record("publish"))
    monkeypatch.setattr(worker.publisher, "publish_anchor", record("anchor"))
    monkeypatch.setattr(worker.reseal, "handle", record("reseal"))
    monkeypatch.setattr(worker.withdraw, "withdraw_unserved", record("withdraw"))
    monkeypatch.setattr(worker.rollouts, "reconcile_environment", record("rollout"))

    async def scenario() -> None:
        loaded = asyncio.Event()
        loaded.set()
        runtime = types.SimpleNamespace(keys_loaded=loaded, keys="keys", queue=WorkQueue(),
                                        leadership=types.SimpleNamespace(is_leading=lambda: True),
                                        owns=lambda _namespace: True)
        handle = worker.handler(runtime)  # type: ignore[arg-type]
        for key in (CrKey("IronflowConfig", "dev", "app"), SealingKeyKey("dev"), AnchorKey(),
                    ResealKey("dev", "app"), WithdrawKey(), RolloutKey("dev")):
            await handle(key)

    asyncio.run(scenario())
    assert calls == [("projector", ("IronflowConfig", "dev", "app")), ("publish", ("dev",)), ("anchor", ()),
                     ("reseal", ("dev", "app")), ("withdraw", ()), ("rollout", ("dev",))]
