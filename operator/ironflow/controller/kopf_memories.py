"""kopf keeps a per-object memory for every object it watches; ours need none, so it keeps none.

Why: kopf's `ResourceMemories` holds, for every watched object for the process's lifetime, a
`ResourceMemory` (memo, error throttler, indexing and daemon state, the first-listing flags) of
about 1.1 KB: 11 MB at 10,000 resources (docs/benchmarks.md), the fourth largest holder. Each of
those parts serves handler kinds this operator does not register: daemons and timers, indices,
change handlers (whose first-listing and remaining-patch bookkeeping it is) and a memo that our
event handlers never read. Our handlers only feed our own cache and queue, and never raise. So
`install()` makes kopf recall every memory as it already does for admission requests
(`ephemeral=True`): created for the one event being processed, then dropped.

If a kind of handler that needs the memory is ever added (a daemon, a timer, an index, an
on.create/update/delete), this must go: `tests/unit/test_kopf_memories.py` fails then, because
it checks the registry holds event handlers only.
"""

from __future__ import annotations

from typing import Any

from kopf._core.reactor import inventory

_MARK = "_ironflow_ephemeral"


def install() -> None:
    """Idempotent; called before kopf starts watching."""
    memories = inventory.ResourceMemories
    if getattr(memories, _MARK, False):
        return
    original = memories.recall

    async def recall(self: inventory.ResourceMemories, raw_body: Any, *, memobase: Any = None,
                     noticed_by_listing: bool = False, ephemeral: bool = False) -> inventory.ResourceMemory:
        del ephemeral  # always: nothing of ours reads a memory after its event
        return await original(self, raw_body, memobase=memobase, noticed_by_listing=noticed_by_listing,
                              ephemeral=True)

    setattr(memories, "recall", recall)  # noqa: B010 - a private class of kopf's
    setattr(memories, _MARK, True)
