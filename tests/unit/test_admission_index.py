"""The admission index: a view kept change by change always equals a full rebuild, and a summary
holds nothing of the values."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ironflow.core.admission_index import NamespaceIndex, Summary, summarise
from ironflow.core.declarations import Kind
from ironflow.core.environment_view import build_view
from ironflow.k8s.admission import stripped

FIELD: dict[Kind, str] = {"secret": "sealed", "config": "values"}
TIMES = ("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2026-01-02T00:00:00Z")  # few: ties happen
NAMES = ("DB", "API", "TOKEN", "URL", "MODE")
STATES = ("Projected", "Failed", "Conflict", "Pending", None)


def _body(rng: random.Random, kind: Kind, resource: str, serial: int) -> dict[str, Any]:
    names = rng.sample(NAMES, rng.randint(0, 3))
    generation = rng.randint(1, 3)
    facts: dict[str, Any] = {}
    for name in names + rng.sample(NAMES, 1):  # status may also speak of a name the spec dropped
        if rng.random() < 0.8:
            state = rng.choice(STATES)
            fact: dict[str, Any] = {"reason": rng.choice(("", "Why")), "message": rng.choice(("", "m"))}
            if state is not None:
                fact["state"] = state
            if rng.random() < 0.7:
                fact["version"] = rng.choice(("v1", "v2", ""))
            facts[name] = fact
    body: dict[str, Any] = {
        "metadata": {"namespace": "dev", "name": resource, "uid": f"uid-{resource}-{rng.randint(0, 1)}",
                     "creationTimestamp": rng.choice(TIMES), "generation": generation,
                     "resourceVersion": str(serial)},
        "spec": {FIELD[kind]: {name: f"plaintext-{serial}-{name}" for name in names}},
        "status": {"names": facts, "observedGeneration": rng.choice((generation, generation - 1, None))},
    }
    if rng.random() < 0.05:
        body["spec"] = "not an object"  # what a CRD without schema lets through: defines nothing
    if rng.random() < 0.05:
        del body["metadata"]["uid"]
    return body


def _full(bodies: dict[Kind, dict[str, dict[str, Any]]]) -> Any:
    return build_view("dev", list(bodies["secret"].values()), list(bodies["config"].values()))


@pytest.mark.parametrize("seed", range(60))
def test_given_random_puts_and_drops_when_viewed_then_the_kept_view_equals_a_full_rebuild(seed: int) -> None:
    rng = random.Random(seed)
    index = NamespaceIndex("dev")
    bodies: dict[Kind, dict[str, dict[str, Any]]] = {"secret": {}, "config": {}}
    asked_from = rng.randint(0, 20)  # before that, no view is kept: the first ask resolves everything
    for step in range(80):
        kind: Kind = rng.choice(("secret", "config"))
        resource = f"r{rng.randint(0, 6)}"
        if rng.random() < 0.25:
            bodies[kind].pop(resource, None)
            index.drop(kind, resource)
        else:
            body = bodies[kind][resource] = _body(rng, kind, resource, step)
            index.put(kind, summarise(kind, body, rv=step))
        if step >= asked_from:
            expected = _full(bodies)
            assert index.view() == expected, f"seed {seed} step {step}"
            webhook = build_view("dev", stripped(bodies["secret"].values(), "sealed"),
                                 stripped(bodies["config"].values(), "values"))
            assert index.view() == webhook
    assert len(index) == len(bodies["secret"]) + len(bodies["config"])


def test_given_three_definers_when_the_oldest_drops_the_name_then_the_next_oldest_wins() -> None:
    index = NamespaceIndex("dev")

    def put(resource: str, created: str, names: list[str]) -> None:
        body = {"metadata": {"name": resource, "uid": resource, "creationTimestamp": created},
                "spec": {"sealed": dict.fromkeys(names, "x")}}
        index.put("secret", summarise("secret", body))

    put("c", TIMES[2], ["DB"])
    put("b", TIMES[1], ["DB"])
    put("a", TIMES[0], ["DB"])
    assert index.view().source("secret", "DB") == "a"
    assert index.view().owners["secret"].lost_by("c") == {"DB": "a"}

    put("a", TIMES[0], ["OTHER"])

    view = index.view()
    assert view.source("secret", "DB") == "b"
    assert view.owners["secret"].lost_by("c") == {"DB": "b"}
    assert view.owners["secret"].lost_by("a") == {}


def test_given_a_view_handed_out_when_the_namespace_changes_then_the_handed_out_view_does_not() -> None:
    index = NamespaceIndex("dev")
    index.put("config", summarise("config", {"metadata": {"name": "app", "creationTimestamp": TIMES[0]},
                                             "spec": {"values": {"MODE": "a"}}}))
    before = index.view()

    index.drop("config", "app")

    assert before.source("config", "MODE") == "app"
    assert index.view().source("config", "MODE") is None


def test_given_a_status_write_that_changes_nothing_admission_reads_when_put_then_no_change() -> None:
    index = NamespaceIndex("dev")
    body = {"metadata": {"name": "app", "creationTimestamp": TIMES[0]}, "spec": {"values": {"MODE": "a"}}}
    assert index.put("config", summarise("config", body, rv=1))

    body["spec"] = {"values": {"MODE": "another value"}}

    assert not index.put("config", summarise("config", body, rv=2))
    assert index.get("config", "app") == summarise("config", body)


def test_given_values_in_the_body_when_summarised_then_no_value_is_in_the_summary() -> None:
    canary = "CANARY-7f3a-plaintext"
    body = {
        "metadata": {"name": "app", "uid": "u", "creationTimestamp": TIMES[0], "generation": 2,
                     "annotations": {"note": canary}, "labels": {"l": canary}},
        "spec": {"sealed": {"DB": f"sealed:{canary}"}, "template": {"data": {"x": canary}}},
        "status": {"names": {"DB": {"state": "Projected", "version": "v1"}}, "observedGeneration": 2,
                   "extra": canary},
    }

    summary = summarise("secret", body)

    assert canary not in repr(summary)
    assert canary not in repr([getattr(summary, slot) for slot in Summary.__slots__])
    assert summary.names == ("DB",) and summary.version("DB") == "v1"
