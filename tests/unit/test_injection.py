"""Declaration + environment + pod -> JSON patch: exactly the declared names, idempotent."""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import pytest
from helpers_ironflow_env import pod, view

from ironflow.core.declarations import parse_declaration
from ironflow.core.injection import RECORD_ANNOTATION, InjectionRefused, plan_injection

ENV = view(secrets={"app": {"DB_PASSWORD": "v1", "OTHER": "v1"}}, configs={"app": {"HTTP_TIMEOUT_MS": "c1"}})


def admit(p: dict[str, Any], env: Any = ENV) -> tuple[dict[str, Any], list[str]]:
    d = parse_declaration(p["metadata"]["annotations"])
    assert d is not None
    inj = plan_injection(d, env, p)
    return jsonpatch.apply_patch(p, inj.patch), inj.warnings


def test_given_db_password_declared_when_admitted_then_exactly_that_env_entry() -> None:
    out, warnings = admit(pod({"ironflow.io/secrets": "DB_PASSWORD"}))
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app", "key": "DB_PASSWORD"}}}
    ]
    assert "volumes" not in out["spec"]
    assert warnings == []
    record = json.loads(out["metadata"]["annotations"][RECORD_ANNOTATION])
    assert record == {
        "projection": "env",
        "containers": ["app"],
        "secrets": {"DB_PASSWORD": "app"},
        "configs": {},
    }


def test_given_name_defined_twice_when_admitted_then_oldest_resource_is_the_source() -> None:
    env = view(secrets={"old": {"DB_PASSWORD": "v1"}, "new": {"DB_PASSWORD": "v2"}})
    out, _ = admit(pod({"ironflow.io/secrets": "DB_PASSWORD"}), env)
    assert out["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "old"


def test_given_files_mode_when_admitted_then_projected_volume_with_only_declared_items() -> None:
    p = pod(
        {
            "ironflow.io/secrets": "DB_PASSWORD",
            "ironflow.io/configs": "HTTP_TIMEOUT_MS",
            "ironflow.io/projection": "files",
        }
    )
    out, _ = admit(p)
    c = out["spec"]["containers"][0]
    assert "env" not in c
    assert c["volumeMounts"] == [
        {"name": "ironflow-declared", "mountPath": "/var/run/ironflow", "readOnly": True}
    ]
    assert out["spec"]["volumes"] == [
        {
            "name": "ironflow-declared",
            "projected": {
                "sources": [
                    {
                        "secret": {
                            "name": "app",
                            "items": [{"key": "DB_PASSWORD", "path": "secrets/DB_PASSWORD"}],
                        }
                    },
                    {
                        "configMap": {
                            "name": "app",
                            "items": [{"key": "HTTP_TIMEOUT_MS", "path": "configs/HTTP_TIMEOUT_MS"}],
                        }
                    },
                ]
            },
        }
    ]


def test_given_env_and_files_when_admitted_then_both() -> None:
    out, _ = admit(pod({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "env,files"}))
    c = out["spec"]["containers"][0]
    assert [e["name"] for e in c["env"]] == ["DB_PASSWORD"]
    assert len(out["spec"]["volumes"]) == 1


def test_given_optional_name_undefined_when_admitted_then_left_out_and_recorded() -> None:
    out, _ = admit(pod({"ironflow.io/secrets": "DB_PASSWORD, SLACK_WEBHOOK?"}))
    assert [e["name"] for e in out["spec"]["containers"][0]["env"]] == ["DB_PASSWORD"]
    assert json.loads(out["metadata"]["annotations"][RECORD_ANNOTATION])["absentOptional"] == [
        "SLACK_WEBHOOK"
    ]


def test_given_optional_name_defined_when_admitted_then_injected_as_optional_ref() -> None:
    out, _ = admit(pod({"ironflow.io/secrets": "OTHER?"}))
    assert out["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["optional"] is True


def test_given_required_name_missing_when_admitted_then_refused_naming_it_and_environment() -> None:
    p = pod({"ironflow.io/secrets": "NOPE", "ironflow.io/configs": "HTTP_TIMEOUT_MS"})
    with pytest.raises(InjectionRefused) as e:
        admit(p)
    assert "environment dev does not define secret NOPE" in str(e.value)


def test_given_secret_name_defined_only_as_config_when_admitted_then_refused() -> None:
    with pytest.raises(InjectionRefused, match="secret HTTP_TIMEOUT_MS"):
        admit(pod({"ironflow.io/secrets": "HTTP_TIMEOUT_MS"}))


def test_given_unknown_container_when_admitted_then_refused_listing_containers() -> None:
    with pytest.raises(InjectionRefused, match="no container named 'web' in this pod \\(containers: app\\)"):
        admit(pod({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/containers": "web"}))


def test_given_containers_annotation_when_admitted_then_only_those_get_env() -> None:
    p = pod(
        {"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/containers": "app"},
        {"name": "app", "image": "x"},
        {"name": "sidecar", "image": "y", "env": [{"name": "X", "value": "1"}]},
    )
    out, _ = admit(p)
    assert "env" in out["spec"]["containers"][0]
    assert out["spec"]["containers"][1]["env"] == [{"name": "X", "value": "1"}]


def test_given_no_containers_annotation_when_admitted_then_init_containers_get_env_too() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD"}, init=({"name": "migrate", "image": "m"},))
    out, _ = admit(p)
    assert out["spec"]["initContainers"][0]["env"][0]["name"] == "DB_PASSWORD"
    assert out["spec"]["containers"][0]["env"][0]["name"] == "DB_PASSWORD"


def test_given_user_already_sets_the_variable_when_admitted_then_left_as_written_with_warning() -> None:
    mine = {"name": "DB_PASSWORD", "value": "from-the-manifest"}
    p = pod({"ironflow.io/secrets": "DB_PASSWORD"}, {"name": "app", "image": "x", "env": [mine]})
    out, warnings = admit(p)
    assert out["spec"]["containers"][0]["env"] == [mine]
    assert warnings == ["container app already sets DB_PASSWORD; left as written, Ironflow did not inject it"]


@pytest.mark.parametrize("mode", ["env", "files", "env,files"])
def test_given_pod_already_injected_when_reinvoked_then_no_change(mode: str) -> None:
    p = pod(
        {
            "ironflow.io/secrets": "DB_PASSWORD, SLACK_WEBHOOK?",
            "ironflow.io/configs": "HTTP_TIMEOUT_MS",
            "ironflow.io/projection": mode,
        }
    )
    once, _ = admit(p)
    d = parse_declaration(once["metadata"]["annotations"])
    assert d is not None
    again = plan_injection(d, ENV, once)
    assert again.patch == []
    assert again.warnings == []


def test_given_foreign_volume_with_our_name_when_admitted_then_refused() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "files"})
    p["spec"]["volumes"] = [{"name": "ironflow-declared", "emptyDir": {}}]
    with pytest.raises(InjectionRefused, match="already has a volume named ironflow-declared"):
        admit(p)


def test_given_existing_env_list_when_admitted_then_appended_after_user_entries() -> None:
    p = pod(
        {"ironflow.io/configs": "HTTP_TIMEOUT_MS"},
        {"name": "app", "image": "x", "env": [{"name": "A", "value": "1"}]},
    )
    out, _ = admit(p)
    assert [e["name"] for e in out["spec"]["containers"][0]["env"]] == ["A", "HTTP_TIMEOUT_MS"]
    assert out["spec"]["containers"][0]["env"][1]["valueFrom"] == {
        "configMapKeyRef": {"name": "app", "key": "HTTP_TIMEOUT_MS"}
    }


def test_given_api_server_defaulted_our_volume_when_reinvoked_then_no_change() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD, OTHER?", "ironflow.io/projection": "files"})
    once, _ = admit(p)
    once["spec"]["volumes"][0]["projected"]["defaultMode"] = 420  # what the API server adds
    d = parse_declaration(once["metadata"]["annotations"])
    assert d is not None
    assert plan_injection(d, ENV, once).patch == []


def test_given_projected_secret_owned_by_someone_else_when_required_name_declared_then_refused() -> None:
    env = view(secrets={"app": {"DB_PASSWORD": "v1"}}, foreign=(("secret", "app"),))
    d = parse_declaration({"ironflow.io/secrets": "DB_PASSWORD"})
    assert d is not None
    expected = r"secret DB_PASSWORD \(its Secret app\).*not managed by Ironflow"
    with pytest.raises(InjectionRefused, match=expected):
        plan_injection(d, env, pod({"ironflow.io/secrets": "DB_PASSWORD"}))


def test_given_projected_secret_owned_by_someone_else_when_optional_name_declared_then_left_out() -> None:
    env = view(secrets={"app": {"DB_PASSWORD": "v1"}}, foreign=(("secret", "app"),))
    out, _ = admit(pod({"ironflow.io/secrets": "DB_PASSWORD?"}), env)
    assert "env" not in out["spec"]["containers"][0]
