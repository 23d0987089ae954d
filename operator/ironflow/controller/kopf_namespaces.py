"""kopf misses a namespace created while its namespace observer starts; make it count.

Why: with namespace globs kopf keeps its set of served namespaces from two listings. Its namespace
observer first lists the namespaces (and adds the matching ones), then starts a watcher, which
lists them again before it watches. The watcher's own listing reaches
`observation.process_discovered_namespace_event` as events without a type, and that function
ignores them. A namespace created between the two listings is therefore in neither set: the first
listing did not see it, the second is ignored, and the watch starts after it. kopf then starts no
watch of our resources there until the namespace changes again (in a full test run, it was never
served until it was deleted 90 s later).

`install()` makes the watcher's listing count like the first one: a listed namespace that matches
is added, a deleted one is dropped (kopf's own `revise_namespaces`, which is idempotent). The
attribute replaced is private to kopf; `tests/unit/test_kopf_namespaces.py` fails if a kopf
upgrade moves it, rather than letting the fix silently lapse.
"""

from __future__ import annotations

from typing import Any

from kopf._core.reactor import observation

_MARK = "_ironflow_counts_listing"


async def _process_namespace_event(*, raw_event: Any, namespaces: Any, insights: Any, **_: Any) -> None:
    """kopf's handler for namespace events, the listing's (type None) included."""
    async with insights.revised:
        observation.revise_namespaces(raw_events=[raw_event], insights=insights, namespaces=namespaces)
        insights.revised.notify_all()


def install() -> None:
    """Idempotent: `namespace_observer` looks the function up in its module at each start."""
    if getattr(observation.process_discovered_namespace_event, _MARK, False):
        return
    setattr(_process_namespace_event, _MARK, True)
    observation.process_discovered_namespace_event = _process_namespace_event
