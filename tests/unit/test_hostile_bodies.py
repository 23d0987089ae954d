"""Hostile CR bodies (a CRD without schema lets any JSON through): reported, never fatal.

A fuzz test feeds arbitrary JSON as spec and metadata to the model parser and to the webhook's
environment view; the only exception allowed is the typed InvalidResource (no name, namespace or
uid to report on). The budget is bounded (max_examples, no deadline) so it runs in every CI run.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironflow.core.conditions import invalid_spec
from ironflow.core.environment_view import build_view
from ironflow.core.keyring import Keyring
from ironflow.core.model import CONFIG_KIND, INVALID_SPEC, SECRET_KIND, InvalidResource, Kind, parse_resource
from ironflow.core.outcomes import KeyState
from ironflow.k8s.admission import stripped

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=20,
)
NAMES = st.sampled_from(["DB_PASSWORD", "HTTP_TIMEOUT_MS", "1BAD", "", "a" * 300, "x.y"])
SPEC_MAP = st.dictionaries(NAMES | st.text(max_size=6), ANY_JSON, max_size=4)
META = st.fixed_dictionaries(
    {"namespace": st.just("prod"), "name": st.just("app"), "uid": st.just("0123456789abcdef")},
    optional={"generation": ANY_JSON, "creationTimestamp": ANY_JSON, "labels": ANY_JSON},
)
SPEC = ANY_JSON | st.fixed_dictionaries(
    {}, optional={"sealed": ANY_JSON | SPEC_MAP, "values": ANY_JSON | SPEC_MAP})
BODY = st.fixed_dictionaries(
    {}, optional={"metadata": META | ANY_JSON, "spec": SPEC, "status": ANY_JSON, "kind": ANY_JSON})
KINDS: tuple[Kind, ...] = (SECRET_KIND, CONFIG_KIND)


def valid(spec: Any, **meta: Any) -> dict[str, Any]:
    metadata = {"namespace": "prod", "name": "app", "uid": "0123456789abcdef", "generation": 2,
                "creationTimestamp": "2026-01-01T00:00:00Z", **meta}
    return {"metadata": metadata, "spec": spec}


@settings(max_examples=300)
@given(st.sampled_from(KINDS), BODY | ANY_JSON)
def test_given_any_json_body_when_parsed_then_resource_or_typed_invalid_resource(
        kind: Kind, body: Any) -> None:
    try:
        resource = parse_resource(kind, body)
    except InvalidResource:
        return
    assert resource.names == frozenset(resource.entries) | frozenset(resource.invalid)
    assert isinstance(resource.generation, int)
    for entry in resource.entries.values():
        entry.encode("utf-8")  # what the projection does with it
    if resource.spec_error is not None:
        assert not resource.entries and not resource.invalid


@settings(max_examples=300)
@given(st.lists(BODY | ANY_JSON, max_size=4), st.lists(BODY | ANY_JSON, max_size=4))
def test_given_any_json_bodies_when_webhook_builds_the_view_then_no_exception(
        secrets: list[Any], configs: list[Any]) -> None:
    secrets = [item for item in secrets if isinstance(item, dict)]
    configs = [item for item in configs if isinstance(item, dict)]
    # Straight from a listing, and after the webhook strips the values: both must hold.
    build_view("prod", secrets, configs)
    view = build_view("prod", stripped(secrets, "sealed"), stripped(configs, "values"))
    for kind in ("secret", "config"):
        for name in ("DB_PASSWORD", "HTTP_TIMEOUT_MS"):
            view.source(kind, name)
            view.version(kind, name)


@pytest.mark.parametrize("spec", ["just-a-string", 5, [1, 2], True])
def test_given_spec_not_an_object_when_parsed_then_spec_error_without_value(spec: Any) -> None:
    resource = parse_resource(SECRET_KIND, valid(spec))
    assert resource.spec_error is not None and "spec must be an object" in resource.spec_error
    assert str(spec) not in resource.spec_error
    assert resource.names == frozenset()


@pytest.mark.parametrize(("kind", "field"), [(SECRET_KIND, "sealed"), (CONFIG_KIND, "values")])
def test_given_name_map_not_an_object_when_parsed_then_spec_error(kind: Kind, field: str) -> None:
    resource = parse_resource(kind, valid({field: "hunter2-not-a-map"}))
    assert resource.spec_error == f"spec.{field} must be an object mapping names to values, not a string"


def test_given_malformed_generation_when_parsed_then_zero_not_an_exception() -> None:
    assert parse_resource(CONFIG_KIND, valid({}, generation="abc")).generation == 0


def test_given_config_values_outside_the_rule_when_parsed_then_refused_per_name_others_kept() -> None:
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    resource = parse_resource(CONFIG_KIND, valid({"values": {"BIG": 2**64, "DEEP": deep, "OK": 2**53 - 1}}))
    assert resource.entries == {"OK": str(2**53 - 1)}
    assert "2^53" in resource.invalid["BIG"] and "deeper than 32" in resource.invalid["DEEP"]


def test_given_spec_a_string_among_others_when_webhook_builds_view_then_others_define_their_names() -> None:
    bad = valid("just-a-string", name="bad", uid="u-bad")
    good = valid({"sealed": {"DB_PASSWORD": "x"}}, name="app", uid="u-app")
    view = build_view("prod", stripped([bad, good], "sealed"), stripped([], "values"))
    assert view.source("secret", "DB_PASSWORD") == "app"
    assert "bad" in view.resources["secret"]


def test_given_invalid_spec_when_status_decided_then_ready_false_invalid_spec_names_kept_one_event() -> None:
    old_names = {"DB_PASSWORD": {"state": "Projected", "version": "01234567-1"}}
    body = valid("just-a-string")
    body["status"] = {"names": old_names}
    resource = parse_resource(SECRET_KIND, body)
    keys = KeyState(keyring=Keyring.development())
    status, posted = invalid_spec(resource, keys, "2026-01-01T00:00:00Z")
    assert status["conditions"][0]["status"] == "False" and status["conditions"][0]["reason"] == INVALID_SPEC
    assert status["names"] == old_names and "just-a-string" not in status["conditions"][0]["message"]
    assert [e.reason for e in posted] == [INVALID_SPEC]
    body["status"] = status
    assert invalid_spec(parse_resource(SECRET_KIND, body), keys, "2026-01-01T00:00:01Z")[1] == []
