"""Projected objects outside the replica's share: owners kept for admission, values not kept."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from helpers_reachable import reachable_strings

from ironflow.controller.projected import LABEL_SELECTOR, ProjectedCache
from ironflow.core.model import CONFIG_KIND, MANAGED_BY, MANAGED_BY_LABEL, SECRET_KIND

CANARY = "canary-projected-8f3a1c"


def _secret(namespace: str, rv: int, value: str, *, name: str = "app") -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": namespace, "name": name, "resourceVersion": str(rv),
            "labels": {MANAGED_BY_LABEL: MANAGED_BY},
            "ownerReferences": [{"apiVersion": "ironflow.io/v1alpha1", "kind": SECRET_KIND, "name": name,
                                 "uid": f"uid-{name}", "controller": True}],
        },
        "data": {"DB": base64.b64encode(value.encode()).decode()},
    }


def test_given_a_namespace_outside_the_share_when_its_object_arrives_then_only_its_owner_is_kept() -> None:
    cache = ProjectedCache(keeps=lambda ns: ns == "mine")
    cache.primed()
    cache.put(SECRET_KIND, _secret("theirs", 5, CANARY))

    assert cache.owner_of(SECRET_KIND, "theirs", "app") == "uid-app"  # admission needs no read
    assert cache.get(SECRET_KIND, "theirs", "app") is None  # a reconcile would read it, not trust it
    assert not any(CANARY in s for s in reachable_strings(cache._seen))
    assert cache.names(SECRET_KIND, "theirs") == [("theirs", "app")]


def test_given_a_namespace_in_the_share_when_its_object_arrives_then_its_values_are_kept() -> None:
    cache = ProjectedCache(keeps=lambda ns: ns == "mine")
    cache.put(SECRET_KIND, _secret("mine", 5, "v"))

    actual = cache.get(SECRET_KIND, "mine", "app")
    assert actual is not None and actual.data == {"DB": b"v"}
    assert cache.owner_of(SECRET_KIND, "mine", "app") == "uid-app"


def test_given_a_namespace_lost_when_shed_then_values_go_and_owners_stay() -> None:
    kept = {"mine"}
    cache = ProjectedCache(keeps=kept.__contains__)
    cache.put(SECRET_KIND, _secret("mine", 5, CANARY))
    kept.clear()
    cache.shed("mine")

    assert cache.get(SECRET_KIND, "mine", "app") is None
    assert cache.owner_of(SECRET_KIND, "mine", "app") == "uid-app"
    assert not any(CANARY in s for s in reachable_strings(cache._seen))


def test_given_a_namespace_gained_when_taken_then_one_labelled_list_per_kind_fills_its_values() -> None:
    asked: list[tuple[str, dict[str, str]]] = []

    class Listing:
        async def request(self, method: str, path: str, *, query: dict[str, str]) -> dict[str, Any]:
            asked.append((path, dict(query)))
            items = [_secret("gained", 7, "listed")] if path.endswith("/secrets") else []
            return {"items": items, "metadata": {"resourceVersion": "9"}}

    kept: set[str] = set()
    cache = ProjectedCache(keeps=kept.__contains__)
    cache.put(SECRET_KIND, _secret("gained", 6, "older"))  # slim: not ours yet
    kept.add("gained")
    asyncio.run(cache.take(Listing(), "gained"))  # type: ignore[arg-type]

    actual = cache.get(SECRET_KIND, "gained", "app")
    assert actual is not None and actual.data == {"DB": b"listed"} and actual.resource_version == "7"
    assert cache.taken("gained")
    assert [p for p, _ in asked] == ["/api/v1/namespaces/gained/secrets",
                                     "/api/v1/namespaces/gained/configmaps"]
    assert all(q["labelSelector"] == LABEL_SELECTOR for _, q in asked)
    # no ConfigMap listed, and the drift watch not primed: read it
    assert cache.get(CONFIG_KIND, "gained", "app") is None


def test_given_an_object_someone_else_controls_when_asked_for_its_owner_then_none() -> None:
    cache = ProjectedCache(keeps=lambda ns: False)
    body = _secret("theirs", 5, "v")
    body["metadata"]["labels"] = {}
    cache.put(SECRET_KIND, body)
    assert cache.owner_of(SECRET_KIND, "theirs", "app") is None
    cache.deleted(SECRET_KIND, _secret("theirs", 6, "v"), owner_exists=True)
    assert cache.owner_of(SECRET_KIND, "theirs", "app") is None
