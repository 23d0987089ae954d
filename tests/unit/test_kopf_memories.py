"""kopf keeps no per-object memory for our objects; valid only while we register no handler needing one."""

from __future__ import annotations

import asyncio

import kopf
from kopf._core.reactor import inventory

from ironflow.controller import kopf_memories
from ironflow.controller import registry as _registry  # registers every handler of the operator

_ = _registry


def _body(uid: str) -> dict[str, object]:
    return {"metadata": {"uid": uid, "name": "app", "namespace": "dev"}}


def test_given_hook_installed_when_kopf_recalls_a_memory_then_none_is_kept() -> None:
    kopf_memories.install()
    kopf_memories.install()  # idempotent

    async def scenario() -> tuple[bool, bool, int]:
        memories = inventory.ResourceMemories()
        first = await memories.recall(_body("u1"), noticed_by_listing=True)
        again = await memories.recall(_body("u1"))
        return first.noticed_by_listing, first is again, sum(1 for _ in memories.iter_all_memories())

    noticed, same, kept = asyncio.run(scenario())
    assert noticed and not same and kept == 0


def test_given_operator_handlers_then_none_of_a_kind_that_needs_kopf_memories() -> None:
    registry = kopf.get_default_registry()
    assert registry._watching.get_all_handlers(), "the operator's event handlers are registered"
    for needing in (registry._changing, registry._spawning, registry._indexing):
        assert not needing.get_all_handlers(), f"{type(needing).__name__}: kopf_memories.install() must go"
