"""The cache with shares: full bodies only where `keeps` says so, the admission index everywhere;
`take` and `shed` move a namespace's bodies in and out, and admission never notices."""

from __future__ import annotations

import asyncio
from typing import Any

from helpers_reachable import reachable_strings

from ironflow.controller import projector, resources
from ironflow.controller.cache import Cache
from ironflow.controller.masterkey import key_state
from ironflow.controller.state import Options, Runtime
from ironflow.core.model import API_VERSION, CONFIG_KIND, SECRET_KIND
from ironflow.k8s.config import ClusterChoice
from ironflow.webhook.reader import CachedEnvironments

CANARY = "CANARY-4c1e-value"


def _body(name: str, names: list[str], rv: int = 1, namespace: str = "dev", kind: str = SECRET_KIND,
          created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    field = "sealed" if kind == SECRET_KIND else "values"
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"namespace": namespace, "name": name, "uid": f"uid-{name}", "generation": 1,
                     "creationTimestamp": created, "resourceVersion": str(rv)},
        "spec": {field: {n: f"{CANARY}-{n}" for n in names}},
        "status": {"observedGeneration": 1,
                   "names": {n: {"state": "Projected", "version": "v1"} for n in names}},
    }


def _holds_a_value(cache: Cache) -> bool:
    return any(CANARY in s for s in reachable_strings(cache))


def _runtime() -> Runtime:
    options = Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False),
                      namespaces=("dev",), operator_namespace="ironflow-system",
                      master_key_secret="ironflow-master-key", metrics_port=0, health_port=0,
                      bind_address="127.0.0.1", workers=1)
    return Runtime(options=options, kube=Listing([]))  # type: ignore[arg-type]


class Listing:
    """A Kube that lists the given bodies (one page) and records which namespaces it listed."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self.bodies, self.listed = bodies, []  # type: list[dict[str, Any]], list[str]

    async def request(self, method: str, path: str, *, query: dict[str, str]) -> dict[str, Any]:
        self.listed.append(path)
        kind = SECRET_KIND if "ironflowsecrets" in path else CONFIG_KIND
        return {"items": [b for b in self.bodies
                          if b["kind"] == kind and f"/namespaces/{b['metadata']['namespace']}/" in path],
                "metadata": {}}


def test_given_a_namespace_not_kept_when_resources_arrive_then_only_the_index_holds_them() -> None:
    cache = Cache(keeps=lambda namespace: namespace == "mine")
    cache.put(SECRET_KIND, _body("db", ["DB_PASSWORD"], namespace="theirs"))
    cache.put(CONFIG_KIND, _body("app", ["MODE"], namespace="theirs", kind=CONFIG_KIND))

    assert cache.get(SECRET_KIND, "theirs", "db") is None
    assert list(cache.resources()) == []
    view = cache.view("theirs")
    assert view.source("secret", "DB_PASSWORD") == "db" and view.version("config", "MODE") == "v1"
    assert cache.known(SECRET_KIND, "theirs", "db")
    assert not _holds_a_value(cache)  # no value is held for a namespace not kept


def test_given_a_namespace_gained_when_taken_then_its_bodies_are_listed_and_kept() -> None:
    owned: set[str] = set()
    cache = Cache(keeps=owned.__contains__)
    body = _body("db", ["DB_PASSWORD"], rv=3)
    cache.put(SECRET_KIND, body)
    kube = Listing([body, _body("other", ["X"], namespace="elsewhere")])

    owned.add("dev")
    asyncio.run(cache.take(kube, "dev"))  # type: ignore[arg-type]

    assert cache.get(SECRET_KIND, "dev", "db") == body
    assert _holds_a_value(cache)  # the canary check sees bodies where they are kept
    assert list(cache.resources()) == [(SECRET_KIND, "dev", "db")]
    assert all("/namespaces/dev/" in path for path in kube.listed)
    assert cache.environment(SECRET_KIND, "dev").owner("DB_PASSWORD") == "db"


def test_given_a_namespace_lost_when_shed_then_bodies_go_and_admission_answers_the_same() -> None:
    owned = {"dev"}
    cache = Cache(keeps=owned.__contains__)
    cache.put(SECRET_KIND, _body("db", ["DB_PASSWORD"]))
    cache.put(SECRET_KIND, _body("late", ["DB_PASSWORD"], created="2026-02-01T00:00:00Z"))
    before = cache.view("dev")

    owned.discard("dev")
    cache.shed("dev")

    assert cache.get(SECRET_KIND, "dev", "db") is None and cache.bodies(SECRET_KIND, "dev") == []
    assert cache.environment(SECRET_KIND, "dev").owners == {}
    assert cache.view("dev") == before
    assert not _holds_a_value(cache)


def test_given_a_body_held_when_an_event_arrives_after_losing_its_namespace_then_the_body_goes() -> None:
    owned = {"dev"}
    cache = Cache(keeps=owned.__contains__)
    cache.put(SECRET_KIND, _body("db", ["DB_PASSWORD"], rv=1))
    owned.discard("dev")  # lost, and shed not run yet

    cache.put(SECRET_KIND, _body("db", ["DB_PASSWORD", "DB_USER"], rv=2))

    assert cache.get(SECRET_KIND, "dev", "db") is None
    assert cache.view("dev").source("secret", "DB_USER") == "db"


def test_given_a_namespace_not_kept_when_the_webhook_reads_it_then_it_answers_from_the_index() -> None:
    cache = Cache(keeps=lambda _namespace: False)
    cache.put(SECRET_KIND, _body("db", ["DB_PASSWORD"]))
    kube = Listing([])
    environments = CachedEnvironments(cache, kube, known=lambda _namespace: True)  # type: ignore[arg-type]
    cache._primed.add("dev")  # primed as the operator's start-up does

    view = asyncio.run(environments("dev"))

    assert view is not None and view.source("secret", "DB_PASSWORD") == "db"
    assert view.settled("secret", "DB_PASSWORD")
    assert kube.listed == []
    cache.put(SECRET_KIND, _body("db", ["OTHER"], rv=2))
    again = asyncio.run(environments("dev"))
    assert again is not None and again.source("secret", "OTHER") == "db"
    assert again.source("secret", "DB_PASSWORD") is None


def test_given_a_value_edit_when_put_then_the_index_revision_stays() -> None:
    cache = Cache()
    cache.put(SECRET_KIND, _body("db", ["DB_PASSWORD"], rv=1))
    before = cache.revision("dev")
    edited = _body("db", ["DB_PASSWORD"], rv=2)
    edited["spec"]["sealed"]["DB_PASSWORD"] = "another sealed value"

    cache.put(SECRET_KIND, edited)

    assert cache.revision("dev") == before
    assert cache.get(SECRET_KIND, "dev", "db") == edited


def test_given_an_event_while_taking_when_keeps_has_not_turned_yet_then_its_body_is_kept() -> None:
    cache = Cache(keeps=lambda _namespace: False)
    newer = _body("db", ["DB_PASSWORD"], rv=9)

    class EventDuringList(Listing):
        async def request(self, method: str, path: str, *, query: dict[str, str]) -> dict[str, Any]:
            cache.put(SECRET_KIND, newer)  # a watch event delivered while the list is in flight
            return await super().request(method, path, query=query)

    asyncio.run(cache.take(EventDuringList([_body("db", ["DB_PASSWORD"], rv=8)]), "dev"))  # type: ignore[arg-type]

    assert cache.get(SECRET_KIND, "dev", "db") == newer


def test_given_a_namespace_not_kept_when_its_resource_is_deleted_then_the_index_forgets_it() -> None:
    runtime = _runtime()
    runtime.cache.keeps = lambda _namespace: False
    body = _body("db", ["DB_PASSWORD"])

    asyncio.run(resources.on_resource_event(runtime, SECRET_KIND, {"type": "ADDED", "object": body},
                                            "dev", "db"))
    assert runtime.cache.view("dev").source("secret", "DB_PASSWORD") == "db"
    asyncio.run(resources.on_resource_event(runtime, SECRET_KIND, {"type": "DELETED", "object": body},
                                            "dev", "db"))

    assert runtime.cache.view("dev").source("secret", "DB_PASSWORD") is None
    assert not runtime.cache.known(SECRET_KIND, "dev", "db")


def test_given_a_body_not_kept_here_when_reconciled_then_it_is_not_taken_for_deleted() -> None:
    runtime = _runtime()
    runtime.cache.keeps = lambda _namespace: False
    runtime.cache.put(SECRET_KIND, _body("db", ["DB_PASSWORD"]))
    runtime.cache._primed.add("dev")
    key = (SECRET_KIND, "dev", "db")
    runtime.conditions.record(key, "True", "Projected")  # as the replica that reconciled it last saw it

    asyncio.run(projector.reconcile(runtime, SECRET_KIND, "dev", "db", key_state(None)))

    assert key in runtime.conditions._conditions
