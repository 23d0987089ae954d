"""A namespace seen only in the listing of kopf's namespace watcher is served (kopf_namespaces)."""

from __future__ import annotations

import asyncio
import inspect

from kopf._cogs.structs import references
from kopf._core.reactor import observation

from ironflow.controller import kopf_namespaces, namespaces


def _listed(name: str) -> dict[str, object]:
    """An event as kopf's watcher yields it for an object of its initial listing: no type."""
    return {"type": None, "object": {"metadata": {"name": name}}}


def test_given_kopf_when_inspected_then_the_patched_function_and_its_call_site_are_where_we_expect() -> None:
    assert callable(observation.process_discovered_namespace_event)
    assert callable(observation.revise_namespaces)
    observer = inspect.getsource(observation.namespace_observer)
    assert "process_discovered_namespace_event" in observer  # looked up in the module at call time


def test_given_a_namespace_only_in_the_watchers_listing_when_processed_then_kopf_serves_it() -> None:
    kopf_namespaces.install()
    kopf_namespaces.install()  # idempotent

    async def scenario() -> set[object]:
        insights = references.Insights()
        patterns = namespaces.kopf_patterns(("team-*", "!team-lost"))  # what the operator hands kopf
        for name in ("team-late", "team-lost", "other"):
            await observation.process_discovered_namespace_event(
                raw_event=_listed(name), namespaces=patterns, insights=insights)  # type: ignore[arg-type]
        return set(insights.namespaces)

    assert asyncio.run(scenario()) == {"team-late"}
