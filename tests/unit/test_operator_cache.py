"""The operator's CR cache: the resolved environment is memoised, and never stale after a change."""

from __future__ import annotations

import asyncio
from typing import Any

from ironflow.controller.cache import PAGE, Cache
from ironflow.core.model import API_VERSION, SECRET_KIND


def _body(name: str, created: str, names: list[str], rv: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": SECRET_KIND,
        "metadata": {
            "namespace": "dev",
            "name": name,
            "uid": f"uid-{name}",
            "creationTimestamp": created,
            "resourceVersion": str(rv),
        },
        "spec": {"sealed": {n: f"dev:{n.lower()}" for n in names}},
    }


def test_given_unchanged_namespace_when_environment_read_twice_then_the_same_resolution_is_reused() -> None:
    cache = Cache()
    cache.put(SECRET_KIND, _body("app", "2026-01-01T00:00:00Z", ["DB"]))

    assert cache.environment(SECRET_KIND, "dev") is cache.environment(SECRET_KIND, "dev")


def test_given_older_definer_when_it_drops_the_name_then_the_next_read_hands_it_over() -> None:
    cache = Cache()
    cache.put(SECRET_KIND, _body("old", "2026-01-01T00:00:00Z", ["DB"]))
    cache.put(SECRET_KIND, _body("new", "2026-02-01T00:00:00Z", ["DB"]))
    assert cache.environment(SECRET_KIND, "dev").owner("DB") == "old"

    cache.put(SECRET_KIND, _body("old", "2026-01-01T00:00:00Z", ["OTHER"], rv=2))
    assert cache.environment(SECRET_KIND, "dev").owner("DB") == "new"

    cache.drop(SECRET_KIND, "dev", "new")
    assert cache.environment(SECRET_KIND, "dev").owner("DB") is None


def test_given_stale_body_when_put_then_it_is_ignored_and_the_resolution_stands() -> None:
    cache = Cache()
    cache.put(SECRET_KIND, _body("app", "2026-01-01T00:00:00Z", ["DB"], rv=5))
    before = cache.environment(SECRET_KIND, "dev")

    cache.put(SECRET_KIND, _body("app", "2026-01-01T00:00:00Z", ["OTHER"], rv=4))

    assert cache.environment(SECRET_KIND, "dev").owner("DB") == "app"
    assert cache.environment(SECRET_KIND, "dev") is before


def test_given_status_only_update_when_put_then_no_re_resolution() -> None:
    cache = Cache()
    cache.put(SECRET_KIND, _body("app", "2026-01-01T00:00:00Z", ["DB"], rv=1))
    before = cache.environment(SECRET_KIND, "dev")

    patched = _body("app", "2026-01-01T00:00:00Z", ["DB"], rv=2)
    patched["status"] = {"observedGeneration": 1}
    cache.put(SECRET_KIND, patched)

    assert cache.environment(SECRET_KIND, "dev") is before
    assert cache.get(SECRET_KIND, "dev", "app") == patched


def test_given_body_that_does_not_parse_when_put_then_it_claims_nothing() -> None:
    cache = Cache()
    cache.put(SECRET_KIND, _body("old", "2026-01-01T00:00:00Z", ["DB"]))
    broken = _body("old", "2026-01-01T00:00:00Z", ["DB"], rv=2)
    broken["spec"] = "not an object"
    cache.put(SECRET_KIND, broken)
    cache.put(SECRET_KIND, _body("new", "2026-02-01T00:00:00Z", ["DB"]))

    assert cache.environment(SECRET_KIND, "dev").owner("DB") == "new"


def test_given_namespace_when_bodies_change_then_revision_moves_and_stale_puts_leave_it() -> None:
    cache = Cache()
    start = cache.revision("dev")
    cache.put(SECRET_KIND, _body("app", "2026-01-01T00:00:00Z", ["DB"], rv=5))
    after_put = cache.revision("dev")
    cache.put(SECRET_KIND, _body("app", "2026-01-01T00:00:00Z", ["DB"], rv=4))  # stale: ignored
    after_stale = cache.revision("dev")
    cache.drop(SECRET_KIND, "dev", "app")

    assert start < after_put == after_stale < cache.revision("dev")
    assert cache.revision("other") == 0


def test_given_body_with_field_records_when_cached_then_only_what_readers_need_is_kept() -> None:
    cache = Cache()
    body = _body("app", "2026-01-01T00:00:00Z", ["DB"])
    body["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:sealed": {}}}}]
    body["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"spec": {"sealed": {"DB": "dev:db"}}}',
        "team": "payments",
    }
    body["status"] = {"names": {"DB": {"state": "Projected"}}}
    cache.put(SECRET_KIND, body)
    other = _body("other", "2026-01-01T00:00:00Z", ["DB"])
    other["status"] = {"names": {"DB": {"state": "Projected"}}}
    cache.put(SECRET_KIND, other)

    kept = cache.get(SECRET_KIND, "dev", "app")
    assert kept is not None and "managedFields" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"team": "payments"}
    assert kept["spec"] == body["spec"] and kept["status"] == body["status"]
    assert kept["apiVersion"] == API_VERSION and kept["kind"] == SECRET_KIND
    shared = cache.get(SECRET_KIND, "dev", "other")
    assert shared is not None
    # one copy of each repeated string for all bodies, not one per body
    assert kept["status"]["names"]["DB"]["state"] is shared["status"]["names"]["DB"]["state"]
    assert body["metadata"]["managedFields"]  # the caller's body is not changed


def test_given_many_resources_when_primed_then_they_are_listed_in_pages() -> None:
    class Pages:
        def __init__(self) -> None:
            self.queries: list[dict[str, str]] = []

        async def request(self, method: str, path: str, *, query: dict[str, str]) -> dict[str, Any]:
            self.queries.append(dict(query))
            if "ironflowconfigs" in path:
                return {"items": []}
            if "continue" not in query:
                return {"items": [_body("a", "2026-01-01T00:00:00Z", ["A"])], "metadata": {"continue": "t1"}}
            return {"items": [_body("b", "2026-01-01T00:00:00Z", ["B"])], "metadata": {}}

    kube = Pages()
    cache = Cache()
    asyncio.run(cache.prime(kube, "dev"))  # type: ignore[arg-type]

    assert sorted(cache.names_of(SECRET_KIND, "dev")) == ["a", "b"]
    assert [q.get("continue") for q in kube.queries] == [None, "t1", None]
    assert all(q["limit"] == str(PAGE) for q in kube.queries)
