"""Events outside the share are taken by the operator as kopf decodes them: the index is updated,
kopf gets a bookmark (watch) or nothing (listing); events of the share, and a take's namespace,
still go to kopf."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

import pytest
from kopf._cogs.clients import api as kopf_api
from test_cache_shares import Listing

from ironflow.controller import kopf_decoding, resources
from ironflow.controller.cache import Cache
from ironflow.controller.share_events import divert_for
from ironflow.controller.state import Options, Runtime
from ironflow.core.model import API_VERSION, CONFIG_KIND, SECRET_KIND
from ironflow.k8s.config import ClusterChoice


def _body(namespace: str, name: str = "db", rv: int = 5, uid: str = "uid-1", kind: str = SECRET_KIND,
          names: tuple[str, ...] = ("DB_PASSWORD",)) -> dict[str, Any]:
    field = "sealed" if kind == SECRET_KIND else "values"
    return {"apiVersion": API_VERSION, "kind": kind,
            "metadata": {"namespace": namespace, "name": name, "uid": uid, "resourceVersion": str(rv),
                         "generation": 1, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {field: dict.fromkeys(names, "x")}}


def _runtime(kept: set[str], sharding: bool = True) -> Any:
    """What divert_for reads; the cache keeps bodies as state.Runtime wires it (the share with
    sharding, everything without)."""
    cache = Cache(keeps=kept.__contains__ if sharding else lambda _namespace: True)
    return SimpleNamespace(cache=cache, serves=lambda ns: ns.startswith("scale-"))


def _divert(runtime: Any) -> kopf_decoding.Divert:
    return divert_for(cast(Runtime, runtime))


def test_given_a_namespace_outside_the_share_when_its_event_is_decoded_then_kopf_gets_a_bookmark() -> None:
    runtime = _runtime(kept={"scale-mine"})
    kopf_decoding.install(_divert(runtime))
    try:
        line = json.dumps({"type": "ADDED", "object": _body("scale-theirs", rv=42)})
        event = kopf_api.json.loads(line)
    finally:
        kopf_decoding.install()
    assert event == {"type": "BOOKMARK", "object": {"apiVersion": API_VERSION, "kind": SECRET_KIND,
                                                    "metadata": {"resourceVersion": "42"}}}
    assert runtime.cache.view("scale-theirs").source("secret", "DB_PASSWORD") == "db"
    assert runtime.cache.get(SECRET_KIND, "scale-theirs", "db") is None  # names only, no body


def test_given_the_share_or_a_take_when_an_event_is_decoded_then_kopf_gets_it_unchanged() -> None:
    runtime = _runtime(kept={"scale-mine"})
    divert = _divert(runtime)
    mine = {"type": "MODIFIED", "object": _body("scale-mine")}
    assert kopf_decoding.divert_event(mine, divert) is mine
    runtime.cache._taking.add("scale-gaining")  # a take listing it: what arrives is kept
    gaining = {"type": "MODIFIED", "object": _body("scale-gaining")}
    assert kopf_decoding.divert_event(gaining, divert) is gaining
    assert not runtime.cache.known(SECRET_KIND, "scale-mine", "db")  # kopf's handler puts it, not this


def test_given_no_sharding_when_an_event_is_decoded_then_only_unserved_namespaces_skip_kopf() -> None:
    runtime = _runtime(kept=set(), sharding=False)
    divert = _divert(runtime)
    served = {"type": "ADDED", "object": _body("scale-a")}
    assert kopf_decoding.divert_event(served, divert) is served
    unserved = kopf_decoding.divert_event({"type": "ADDED", "object": _body("kube-system")}, divert)
    assert unserved["type"] == "BOOKMARK"
    assert not runtime.cache.known(SECRET_KIND, "kube-system", "db")


def test_given_other_kinds_errors_or_no_diverter_when_decoded_then_untouched() -> None:
    divert = _divert(_runtime(kept=set()))
    pod = {"type": "ADDED",
           "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "scale-a"}}}
    error = {"type": "ERROR", "object": {"code": 410}}
    ours = {"type": "ADDED", "object": _body("scale-a")}
    assert kopf_decoding.divert_event(pod, divert) is pod
    assert kopf_decoding.divert_event(error, divert) is error
    assert kopf_decoding.divert_event(ours, None) is ours


def test_given_a_listing_when_decoded_then_items_outside_the_share_are_left_out_and_indexed() -> None:
    runtime = _runtime(kept={"scale-mine"})
    mine, theirs = _body("scale-mine", kind=CONFIG_KIND), _body("scale-theirs", kind=CONFIG_KIND)
    for item in (mine, theirs):
        del item["apiVersion"], item["kind"]  # list items carry neither
    listing = {"apiVersion": API_VERSION, "kind": "IronflowConfigList", "metadata": {"resourceVersion": "9"},
               "items": [mine, theirs]}
    result = kopf_decoding.divert_listing(listing, _divert(runtime))
    assert result["items"] == [mine]
    assert runtime.cache.known(CONFIG_KIND, "scale-theirs", "db")
    assert not runtime.cache.known(CONFIG_KIND, "scale-mine", "db")


def test_given_a_deletion_outside_the_share_when_decoded_then_the_index_drops_it() -> None:
    runtime = _runtime(kept=set())
    divert = _divert(runtime)
    kopf_decoding.divert_event({"type": "ADDED", "object": _body("scale-a", rv=5)}, divert)
    kopf_decoding.divert_event({"type": "DELETED", "object": _body("scale-a", rv=6)}, divert)
    assert not runtime.cache.known(SECRET_KIND, "scale-a", "db")


def test_given_a_late_kopf_event_after_a_diverted_one_when_handled_then_the_newer_stays() -> None:
    """A namespace leaves the share while kopf still holds an older event of it: the handler that
    runs later must not undo what the diverted, newer event put (by version; by uid for deletions)."""
    runtime = _runtime(kept=set())
    divert = _divert(runtime)
    kopf_decoding.divert_event({"type": "MODIFIED", "object": _body("scale-a", rv=9, names=("NEW",))}, divert)
    runtime.cache.put(SECRET_KIND, _body("scale-a", rv=7, names=("OLD",)))  # kopf's late MODIFIED
    assert runtime.cache.view("scale-a").source("secret", "NEW") == "db"
    assert runtime.cache.view("scale-a").source("secret", "OLD") is None
    kopf_decoding.divert_event({"type": "ADDED", "object": _body("scale-a", rv=12, uid="uid-2")}, divert)
    runtime.cache.drop(SECRET_KIND, "scale-a", "db", "uid-1")  # kopf's late DELETED of the earlier one
    assert runtime.cache.known(SECRET_KIND, "scale-a", "db")


def test_given_resources_handler_when_a_deletion_of_an_earlier_uid_arrives_then_the_successor_stays() -> None:
    runtime = Runtime(options=Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False),
                                      namespaces=("scale-a",), operator_namespace="ironflow-system",
                                      master_key_secret="ironflow-master-key", metrics_port=0, health_port=0,
                                      bind_address="127.0.0.1", workers=1),
                      kube=cast(Any, Listing([])))
    runtime.cache.put(SECRET_KIND, _body("scale-a", rv=12, uid="uid-2"))
    late = {"type": "DELETED", "object": _body("scale-a", rv=10, uid="uid-1")}
    asyncio.run(resources.on_resource_event(runtime, SECRET_KIND, late, "scale-a", "db"))
    assert runtime.cache.known(SECRET_KIND, "scale-a", "db")
    assert runtime.cache.get(SECRET_KIND, "scale-a", "db") is not None
    gone = {"type": "DELETED", "object": _body("scale-a", rv=13, uid="uid-2")}
    asyncio.run(resources.on_resource_event(runtime, SECRET_KIND, gone, "scale-a", "db"))
    assert not runtime.cache.known(SECRET_KIND, "scale-a", "db")


def test_given_an_event_without_a_resource_version_when_decoded_then_kopf_gets_it() -> None:
    """kopf resumes its watch from the last version it saw; a bookmark without one would lose it."""
    runtime = _runtime(kept=set())
    body = _body("scale-a")
    del body["metadata"]["resourceVersion"]
    event = {"type": "ADDED", "object": body}
    assert kopf_decoding.divert_event(event, _divert(runtime)) is event
    assert not runtime.cache.known(SECRET_KIND, "scale-a", "db")


def test_given_a_diverter_that_raises_when_an_event_is_decoded_then_kopf_gets_it_and_the_watch_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The diverter runs inside kopf's decoding: an exception there would end the watch of the kind."""
    def broken(_kind: str, _type: str | None, _body: Mapping[str, Any]) -> bool:
        raise ValueError("CANARY-7f2a-value")

    event = {"type": "ADDED", "object": _body("scale-a")}
    listing = {"apiVersion": API_VERSION, "kind": "IronflowSecretList", "items": [_body("scale-a")]}
    with caplog.at_level(logging.DEBUG):
        assert kopf_decoding.divert_event(event, broken) is event
        assert len(kopf_decoding.divert_listing(listing, broken)["items"]) == 1
    assert "ValueError" in caplog.text and "CANARY-7f2a-value" not in caplog.text
