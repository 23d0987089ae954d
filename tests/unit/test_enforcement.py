"""Enforced environments: managed Secrets only through the declaration."""

from __future__ import annotations

import dataclasses

import jsonpatch
from helpers_ironflow_env import pod, view

from ironflow.core.declarations import parse_declaration
from ironflow.core.enforcement import forbidden_references, referenced_secrets
from ironflow.core.injection import plan_injection

ENV = view(secrets={"app": {"DB_PASSWORD": "v1", "OTHER": "v1"}})


def test_given_injected_pod_when_checked_then_nothing_forbidden() -> None:
    for mode in ("env", "files", "env,files"):
        p = pod({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": mode})
        d = parse_declaration(p["metadata"]["annotations"])
        assert d is not None
        out = jsonpatch.apply_patch(p, plan_injection(d, ENV, p).patch)
        assert forbidden_references(out, d, ENV) == []


def test_given_undeclared_key_ref_to_managed_secret_when_checked_then_forbidden() -> None:
    p = pod(
        {},
        {
            "name": "app",
            "env": [{"name": "OTHER", "valueFrom": {"secretKeyRef": {"name": "app", "key": "OTHER"}}}],
        },
    )
    assert forbidden_references(p, None, ENV) == ["container app env OTHER (Secret app)"]


def test_given_env_from_and_volume_of_managed_secret_when_checked_then_both_forbidden() -> None:
    p = pod({}, {"name": "app", "envFrom": [{"secretRef": {"name": "app"}}]})
    p["spec"]["volumes"] = [{"name": "all", "secret": {"secretName": "app"}}]
    assert forbidden_references(p, None, ENV) == [
        "container app envFrom (Secret app)",
        "volume all (Secret app)",
    ]


def test_given_reference_to_unmanaged_secret_when_checked_then_allowed() -> None:
    p = pod({}, {"name": "app", "envFrom": [{"secretRef": {"name": "tls-certs"}}]})
    assert forbidden_references(p, None, ENV) == []


def test_given_defaulted_injected_volume_when_checked_then_allowed() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "files"})
    d = parse_declaration(p["metadata"]["annotations"])
    assert d is not None
    out = jsonpatch.apply_patch(p, plan_injection(d, ENV, p).patch)
    out["spec"]["volumes"][0]["projected"]["defaultMode"] = 420
    assert forbidden_references(out, d, ENV) == []


def test_given_our_volume_name_with_extra_items_when_checked_then_forbidden() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "files"})
    d = parse_declaration(p["metadata"]["annotations"])
    assert d is not None
    out = jsonpatch.apply_patch(p, plan_injection(d, ENV, p).patch)
    out["spec"]["volumes"][0]["projected"]["sources"][0]["secret"]["items"].append(
        {"key": "OTHER", "path": "x"}
    )
    assert forbidden_references(out, d, ENV) == ["volume ironflow-declared (Secret app)"]


def test_given_references_to_absent_secrets_when_checked_then_forbidden_optional_or_not() -> None:
    waiting = dataclasses.replace(ENV, missing_secrets=frozenset({"future"}))
    p = pod(
        {},
        {
            "name": "app",
            "envFrom": [{"secretRef": {"name": "future", "optional": True}}],
            "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "future", "key": "K"}}}],
        },
    )
    p["spec"]["volumes"] = [
        {"name": "v", "secret": {"secretName": "future", "optional": True}},
        {"name": "p", "projected": {"sources": [{"secret": {"name": "future"}}]}},
        {"name": "fine", "secret": {"secretName": "tls-certs"}},
    ]
    assert referenced_secrets(p) == {"future", "tls-certs"}
    assert forbidden_references(p, None, waiting) == [
        "container app env K (Secret future, which does not exist yet)",
        "container app envFrom (Secret future, which does not exist yet)",
        "volume v (Secret future, which does not exist yet)",
        "volume p (Secret future, which does not exist yet)",
    ]


def test_given_no_managed_secret_yet_when_pod_waits_for_absent_secret_then_still_forbidden() -> None:
    empty = dataclasses.replace(view(), missing_secrets=frozenset({"future"}))
    p = pod({}, {"name": "app", "envFrom": [{"secretRef": {"name": "future", "optional": True}}]})
    assert forbidden_references(p, None, empty) == [
        "container app envFrom (Secret future, which does not exist yet)"
    ]
