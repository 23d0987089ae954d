"""Which source the webhook's environment reader trusts: the operator's cache, or a live listing.

The Kubernetes side is a stand-in that records paths: what is tested is the decision (cache hit,
live fallback, ownership reads bounded by the declared names), not the API server, which the
integration tests in tests/integration/test_webhook_admission.py exercise for real.
"""

from __future__ import annotations

import asyncio
from typing import Any

from helpers_ironflow_env import resource

from ironflow.controller.cache import Cache
from ironflow.core.environment_view import EnvironmentView, build_view
from ironflow.webhook.admission import review_declarations
from ironflow.webhook.reader import CachedEnvironments, Resources, environment_reader


class _RecordingKube:
    """Answers the two LISTs from `live` and every metadata GET with an object owned by nobody."""

    def __init__(self, live: Resources) -> None:
        self.live = live
        self.paths: list[str] = []

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        self.paths.append(path)
        secrets, configs = self.live
        return {"items": secrets if path.endswith("/ironflowsecrets") else configs}

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        self.paths.append(path)
        return None  # not projected yet: nothing foreign


def _app(names: dict[str, str | None], created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return resource("app", created, names, "sealed")


def test_given_cache_knows_every_declared_name_when_read_then_no_list_and_one_get_per_source() -> None:
    other = resource("other", "2026-01-02T00:00:00Z", {"X": None}, "sealed")
    cached: Resources = ([_app({"DB": "v1"}), other], [])
    kube = _RecordingKube(live=([], []))

    async def from_cache(namespace: str) -> EnvironmentView:
        return build_view(namespace, *cached)

    read = environment_reader(kube, cached=from_cache)  # type: ignore[arg-type]
    view = asyncio.run(read("dev", [("secret", "DB")]))

    assert view.source("secret", "DB") == "app"
    assert kube.paths == ["/api/v1/namespaces/dev/secrets/app"]


def test_given_cache_trailing_a_new_resource_when_read_then_live_listing_decides() -> None:
    kube = _RecordingKube(live=([_app({"DB": "v1"})], []))

    async def stale(namespace: str) -> EnvironmentView:
        return build_view(namespace, [], [])

    read = environment_reader(kube, cached=stale)  # type: ignore[arg-type]
    view = asyncio.run(read("dev", [("secret", "DB")]))

    assert view.source("secret", "DB") == "app"
    assert [p for p in kube.paths if p.endswith(("/ironflowsecrets", "/ironflowconfigs"))] == [
        "/apis/ironflow.io/v1alpha1/namespaces/dev/ironflowsecrets",
        "/apis/ironflow.io/v1alpha1/namespaces/dev/ironflowconfigs",
    ]


def _cr(name: str, rv: int, versions: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "ironflow.io/v1alpha1",
        "kind": "IronflowSecret",
        "metadata": {
            "namespace": "dev",
            "name": name,
            "uid": f"uid-{name}",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "resourceVersion": str(rv),
        },
        "spec": {"sealed": {n: "dev:x" for n in versions}},
        "status": {"names": {n: {"version": v} for n, v in versions.items()}},
    }


def test_given_unchanged_namespace_when_many_pods_read_then_derived_once_and_renewed_on_change() -> None:
    cache = Cache()
    cache.put("IronflowSecret", _cr("app", 1, {"DB": "v1"}))
    read = CachedEnvironments(cache, _RecordingKube(live=([], [])), known={"dev"}.__contains__)  # type: ignore[arg-type]

    async def scenario() -> tuple[Any, Any, Any]:
        first = await read("dev")
        second = await read("dev")
        cache.put("IronflowSecret", _cr("app", 2, {"DB": "v2"}))  # a status patch: new version
        return first, second, await read("dev")

    first, second, third = asyncio.run(scenario())

    assert first is not None and second is first
    assert third is not None and third is not first and third.version("secret", "DB") == "v2"
    assert "dev:x" not in repr(read.derived.get("dev"))  # what is kept holds no sealed string


def test_given_referenced_secrets_when_read_then_unmanaged_ones_looked_up_and_absent_ones_listed() -> None:
    cached: Resources = ([_app({"DB": "v1"})], [])
    kube = _RecordingKube(live=([], []))

    async def from_cache(namespace: str) -> EnvironmentView:
        return build_view(namespace, *cached)

    read = environment_reader(kube, cached=from_cache)  # type: ignore[arg-type]
    view = asyncio.run(read("dev", [], secrets=["app", "future", "../../x"]))

    assert view.missing_secrets == {"future", "../../x"}
    assert kube.paths == ["/api/v1/namespaces/dev/secrets/future"]  # never a path from a bad name


def test_given_a_primed_namespace_when_a_pod_is_reviewed_then_the_decision_never_yields_to_the_loop() -> None:
    """One admission runs to completion once started: a yield (a task per call, as wait_for made)
    lets the API server's concurrent calls interleave, so each waits for all the others."""
    cache = Cache()
    cache.put("IronflowSecret", _cr("app", 1, {"DB": "v1"}))
    kube = _RecordingKube(live=([], []))
    envs = CachedEnvironments(cache, kube, known={"dev"}.__contains__)  # type: ignore[arg-type]
    read = environment_reader(kube, cached=envs, owned=lambda *_: True)  # type: ignore[arg-type]
    review = {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u-1", "namespace": "dev", "object": {
            "metadata": {"name": "p", "annotations": {"ironflow.io/secrets": "DB"}},
            "spec": {"containers": [{"name": "app"}]}}},
    }

    async def scenario() -> Any:
        await read("dev", [("secret", "DB")])  # the first look primes the namespace (a LIST)
        decision = review_declarations(review, read)
        try:
            decision.send(None)
        except StopIteration as done:
            return done.value
        decision.close()
        raise AssertionError("the admission yielded to the event loop")

    response = asyncio.run(scenario())["response"]

    assert response["allowed"] is True and response["patchType"] == "JSONPatch"
    assert kube.paths == ["/apis/ironflow.io/v1alpha1/namespaces/dev/ironflowsecrets",
                          "/apis/ironflow.io/v1alpha1/namespaces/dev/ironflowconfigs"]
