"""Any Secret type and any Secret/ConfigMap key: templates, file-only keys, safe refusals, sealing."""

from __future__ import annotations

from typing import Any

import jsonpatch
import pytest
from helpers_ironflow_env import pod, view

from ironflow.controller.projector import _body, actual_from
from ironflow.core.api_refusal import describe_refusal
from ironflow.core.crypto import derive_sealing_key, seal, unseal
from ironflow.core.declarations import DeclarationError, parse_declaration
from ironflow.core.injection import plan_injection
from ironflow.core.keyring import Keyring
from ironflow.core.model import MANAGED_BY_LABEL, SECRET_KIND, Resource, parse_resource
from ironflow.core.projection import VERSIONS_ANNOTATION as VERSIONS
from ironflow.core.projection import Projection, judged_for

KEY = bytes(range(32))
KEYRING = Keyring.from_master_keys(KEY)
PUBLIC = derive_sealing_key(KEY).public


def secret(template: Any) -> Resource:
    body = {
        "metadata": {"namespace": "prod", "name": "tls", "uid": "u-1", "generation": 1},
        "spec": {"sealed": {}, "template": template},
    }
    return parse_resource(SECRET_KIND, body)


def test_given_tls_template_when_parsed_then_type_labels_and_annotations_are_kept() -> None:
    res = secret(
        {"type": "kubernetes.io/tls", "metadata": {"labels": {"team": "web"}, "annotations": {"a": "b"}}}
    )
    assert res.template.type == "kubernetes.io/tls"
    assert dict(res.template.labels) == {"team": "web"}
    assert dict(res.template.annotations) == {"a": "b"}


@pytest.mark.parametrize("template", [None, "x", {"type": 5, "metadata": {"labels": ["x"]}}])
def test_given_no_or_malformed_template_when_parsed_then_opaque_without_extras(template: Any) -> None:
    res = secret(template)
    assert res.template.type == "Opaque" and not res.template.labels and not res.template.annotations


def test_given_template_with_managed_by_label_when_projected_then_operator_label_and_owner_win() -> None:
    template = {
        "type": "kubernetes.io/tls",
        "metadata": {
            "labels": {MANAGED_BY_LABEL: "me", "team": "web"},
            "annotations": {VERSIONS: "x", "a": "b"},
        },
    }
    res = secret(template)
    body = _body(res, Projection("create", {"tls.crt": b"c", "tls.key": b"k"}, {}))
    assert body["metadata"]["annotations"] == {"a": "b", VERSIONS: "{}"}
    assert body["type"] == "kubernetes.io/tls"
    assert body["metadata"]["labels"] == {"team": "web", MANAGED_BY_LABEL: "ironflow-operator"}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert set(body["data"]) == {"tls.crt", "tls.key"}


def test_given_projected_object_lacking_a_template_annotation_when_read_then_update_is_due() -> None:
    res = secret({"metadata": {"annotations": {"a": "b"}}})
    base = {
        "metadata": {"labels": {MANAGED_BY_LABEL: "ironflow-operator"}, "ownerReferences": []},
        "data": {},
    }
    assert not judged_for(actual_from(SECRET_KIND, base), res).labelled
    base["metadata"]["annotations"] = {"a": "b", "other-tool": "x"}
    assert judged_for(actual_from(SECRET_KIND, base), res).labelled


def test_given_projected_secret_of_another_type_when_read_then_update_is_due() -> None:
    res = secret({"type": "kubernetes.io/tls"})
    base = {"metadata": {"labels": {MANAGED_BY_LABEL: "ironflow-operator"}}, "type": "Opaque", "data": {}}
    assert not judged_for(actual_from(SECRET_KIND, base), res).labelled
    base["type"] = "kubernetes.io/tls"
    assert judged_for(actual_from(SECRET_KIND, base), res).labelled


def test_given_api_server_refusal_when_described_then_fields_and_types_without_details() -> None:
    message = (
        'Secret "x" is invalid: [data[tls.key]: Required value, data[.dockerconfigjson]: Invalid value: '
        "\"<secret contents redacted>\": invalid character 'S' looking for beginning of value]"
    )
    text = describe_refusal(422, "Invalid", message)
    assert text == (
        "the API server answered 422 Invalid: data[tls.key]: Required value; "
        "data[.dockerconfigjson]: Invalid value"
    )
    assert "'S'" not in text


def test_given_immutable_type_refusal_when_described_then_says_so() -> None:
    text = describe_refusal(
        422, "Invalid", 'Secret "x" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable'
    )
    assert "type: Invalid value" in text and "immutable" in text and "kubernetes.io/tls" not in text


@pytest.mark.parametrize("name", ["tls.crt", ".dockerconfigjson", "config.yaml", "a-b", "1st"])
def test_given_key_name_with_dots_when_sealed_then_unseals_only_under_that_name(name: str) -> None:
    sealed = seal(PUBLIC, "prod", name, b"v")
    assert unseal(KEYRING, "prod", name, sealed, allow_dev=False) == b"v"
    with pytest.raises(ValueError, match="failed authentication"):
        unseal(KEYRING, "prod", name + "x", sealed, allow_dev=False)
    with pytest.raises(ValueError, match="failed authentication"):
        unseal(KEYRING, "staging", name, sealed, allow_dev=False)


ENV = view(secrets={"tls": {"tls.crt": "v", "tls.key": "v"}, "app": {"DB_PASSWORD": "v"}})


def test_given_file_only_key_in_env_mode_when_declared_then_refused_pointing_at_files_mode() -> None:
    with pytest.raises(DeclarationError, match=r"use files mode .* /var/run/ironflow/secrets/tls.crt"):
        parse_declaration({"ironflow.io/secrets": "DB_PASSWORD, tls.crt"})


def test_given_file_only_key_in_env_files_mode_when_admitted_then_file_only_and_env_for_env_names() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD, tls.crt", "ironflow.io/projection": "env,files"})
    d = parse_declaration(p["metadata"]["annotations"])
    assert d is not None
    out = jsonpatch.apply_patch(p, plan_injection(d, ENV, p).patch)
    assert [e["name"] for e in out["spec"]["containers"][0]["env"]] == ["DB_PASSWORD"]
    sources = out["spec"]["volumes"][0]["projected"]["sources"]
    items = [i for s in sources for i in s["secret"]["items"]]
    assert {"key": "tls.crt", "path": "secrets/tls.crt"} in items
