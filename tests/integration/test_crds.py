"""The API server itself enforces the CRDs in crds/: schema, CEL rules, docs, discovery."""

from __future__ import annotations

import json
import subprocess

import pytest
from kubernetes import client

from ironflow.core.crypto import MAX_PLAINTEXT_BYTES, MAX_SEALED_CHARS, derive_sealing_key, seal
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

KEY_ID = "0123456789abcdef"
SEALED = f"ifs:v1:{KEY_ID}:" + "A" * 60 + "bcdefghij-_0123456789"
NAME_RULE = "every name must be a valid Secret/ConfigMap key"
NOT_SEALED = "must be a sealed value"


def _secret(name: str, sealed: object) -> str:
    return json.dumps(
        {
            "apiVersion": "ironflow.io/v1alpha1",
            "kind": "IronflowSecret",
            "metadata": {"name": name},
            "spec": {"sealed": sealed},
        }
    )


def _config(name: str, values: object) -> str:
    return json.dumps(
        {
            "apiVersion": "ironflow.io/v1alpha1",
            "kind": "IronflowConfig",
            "metadata": {"name": name},
            "spec": {"values": values},
        }
    )


def _create(cluster: Cluster, namespace: str, manifest: str) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("create", "-n", namespace, "-f", "-", input=manifest, check=False)


def test_given_crd_manifests_when_applied_then_both_established(
    crds: list[str], k8s_api: client.ApiClient
) -> None:
    extensions = client.ApiextensionsV1Api(k8s_api)
    assert sorted(crds) == [
        "customresourcedefinition.apiextensions.k8s.io/ironflowconfigs.ironflow.io",
        "customresourcedefinition.apiextensions.k8s.io/ironflowsecrets.ironflow.io",
    ]
    for plural in ("ironflowsecrets", "ironflowconfigs"):
        crd = extensions.read_custom_resource_definition(f"{plural}.ironflow.io")
        conditions = {c.type: c.status for c in crd.status.conditions}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        assert crd.spec.scope == "Namespaced"
        assert crd.spec.names.categories == ["ironflow"]


def test_given_well_formed_sealed_values_when_created_then_accepted(
    cluster: Cluster, crds: list[str], namespace: str, k8s_api: client.ApiClient
) -> None:
    result = _create(cluster, namespace, _secret("app", {"DB_PASSWORD": SEALED, "_x9": "dev:plain text ok"}))
    assert result.returncode == 0, result.stderr
    stored = client.CustomObjectsApi(k8s_api).get_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, "ironflowsecrets", "app"
    )
    assert stored["spec"]["sealed"]["DB_PASSWORD"] == SEALED


def test_given_json_values_of_every_type_when_config_created_then_accepted(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    values = {"HTTP_TIMEOUT_MS": 2500, "FEATURE": True, "NAME": "x", "LIST": [1, "a"], "OBJ": {"a": {"b": 1}}}
    result = _create(cluster, namespace, _config("app", values))
    assert result.returncode == 0, result.stderr
    stored = json.loads(cluster.kubectl("get", "ironflowconfig", "app", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"]["values"] == values


@pytest.mark.parametrize("kind", ["secret", "config"])
@pytest.mark.parametrize("bad_name", ["HAS SPACE", "ÜMLAUT", "a/b", ".", "..", "..data"])
def test_given_invalid_name_when_created_then_api_server_rejects_with_rule_message(
    cluster: Cluster, crds: list[str], namespace: str, kind: str, bad_name: str
) -> None:
    manifest = _secret("app", {bad_name: SEALED}) if kind == "secret" else _config("app", {bad_name: 1})
    result = _create(cluster, namespace, manifest)
    assert result.returncode != 0
    assert "is invalid" in result.stderr
    assert NAME_RULE in result.stderr


@pytest.mark.parametrize("kind", ["secret", "config"])
def test_given_secret_and_configmap_keys_when_created_then_accepted(
    cluster: Cluster, crds: list[str], namespace: str, kind: str
) -> None:
    keys = ["tls.crt", ".dockerconfigjson", "config.yaml", "1STARTS_WITH_DIGIT", "has-dash", ".a"]
    if kind == "secret":
        manifest = _secret("app", dict.fromkeys(keys, SEALED))
    else:
        manifest = _config("app", dict.fromkeys(keys, 1))
    result = _create(cluster, namespace, manifest)
    assert result.returncode == 0, result.stderr


def _templated(template: object) -> str:
    return json.dumps(
        {
            "apiVersion": "ironflow.io/v1alpha1",
            "kind": "IronflowSecret",
            "metadata": {"name": "tls"},
            "spec": {"sealed": {"tls.crt": SEALED, "tls.key": SEALED}, "template": template},
        }
    )


def test_given_template_with_secret_type_and_labels_when_created_then_accepted(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    meta = {"labels": {"team": "web"}, "annotations": {"a": "b"}}
    template = {"type": "kubernetes.io/tls", "metadata": meta}
    result = _create(cluster, namespace, _templated(template))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({"type": "kubernetes.io/service-account-token"}, "Unsupported value"),
        ({"metadata": {"labels": {"app.kubernetes.io/managed-by": "me"}}}, "cannot be templated"),
        ({"metadata": {"labels": {"a": 1}}}, "must be of type string"),
    ],
)
def test_given_bad_template_when_created_then_rejected_with_reason(
    cluster: Cluster, crds: list[str], namespace: str, template: object, expected: str
) -> None:
    result = _create(cluster, namespace, _templated(template))
    assert result.returncode != 0
    assert expected in result.stderr


def test_given_name_longer_than_253_when_created_then_rejected(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    assert _create(cluster, namespace, _secret("ok", {"A" * 253: SEALED})).returncode == 0
    result = _create(cluster, namespace, _secret("app", {"A" * 254: SEALED}))
    assert result.returncode != 0
    assert "names are at most 253 characters" in result.stderr


@pytest.mark.parametrize(
    "value",
    [
        "plaintext-password",
        f"ifs:v1:{KEY_ID}:short",
        "ifs:v1:NOTHEX0123456789:" + "A" * 90,
        f"ifs:v1:{KEY_ID}:" + "A" * 85 + "+/=",
        f"ifs:{KEY_ID}:" + "A" * 90,
        "",
    ],
)
def test_given_malformed_sealed_value_when_created_then_rejected_without_echoing_it(
    cluster: Cluster, crds: list[str], namespace: str, value: str
) -> None:
    result = _create(cluster, namespace, _secret("app", {"DB_PASSWORD": value}))
    assert result.returncode != 0
    assert NOT_SEALED in result.stderr
    assert "spec.sealed" in result.stderr
    if value:
        assert value not in result.stderr, "a rejected value (maybe a pasted plaintext) is echoed back"


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (_secret("app", {"DB_PASSWORD": 42}), "must be of type string"),
        (_secret("app", "ifs:v1:whole-map-as-string"), "must be of type object"),
        (_secret("app", ["DB_PASSWORD"]), "must be of type object"),
        (_config("app", "not-a-map"), "must be of type object"),
    ],
)
def test_given_wrong_types_when_created_then_rejected_with_type_message(
    cluster: Cluster, crds: list[str], namespace: str, manifest: str, expected: str
) -> None:
    result = _create(cluster, namespace, manifest)
    assert result.returncode != 0
    assert expected in result.stderr


def test_given_spec_missing_when_created_then_rejected(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    manifest = json.dumps(
        {"apiVersion": "ironflow.io/v1alpha1", "kind": "IronflowSecret", "metadata": {"name": "a"}}
    )
    result = _create(cluster, namespace, manifest)
    assert result.returncode != 0
    assert "spec: Required value" in result.stderr


def _explain(cluster: Cluster, field: str) -> str:
    # The API server publishes a new CRD's OpenAPI a moment after it is Established.
    result = eventually(
        lambda: (r := cluster.kubectl("explain", field, check=False)).returncode == 0 and r,
        timeout=30,
        what=f"kubectl explain {field}",
    )
    return " ".join(str(result.stdout).split())  # explain wraps lines wherever it likes


def test_given_crds_when_kubectl_explain_sealed_then_field_docs_shown(
    cluster: Cluster, crds: list[str]
) -> None:
    text = _explain(cluster, "ironflowsecrets.spec.sealed")
    assert "NAME -> sealed value" in text
    assert "ironflow secret seal" in text
    assert "NAME -> any JSON value" in _explain(cluster, "ironflowconfigs.spec.values")
    assert "kubernetes.io/tls needs the names tls.crt and tls.key" in _explain(
        cluster, "ironflowsecrets.spec.template.type"
    )
    assert "cannot override" in _explain(cluster, "ironflowconfigs.spec.template.metadata.labels")


def test_given_resources_when_kubectl_get_category_then_both_kinds_listed(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    assert _create(cluster, namespace, _secret("app", {"DB_PASSWORD": SEALED})).returncode == 0
    assert _create(cluster, namespace, _config("app", {"TIMEOUT": 1})).returncode == 0

    listing = cluster.kubectl("get", "ironflow", "-A").stdout

    assert "ironflowsecret.ironflow.io/app" in listing
    assert "ironflowconfig.ironflow.io/app" in listing
    assert namespace in listing
    header = cluster.kubectl("get", "ifsec", "-n", namespace).stdout.splitlines()[0].split()
    assert header[:2] == ["NAME", "READY"]
    assert "NAMES" in header
    assert header[-1] == "AGE"


def test_given_crds_when_kubectl_api_resources_then_group_lists_both_kinds(
    cluster: Cluster, crds: list[str]
) -> None:
    rows = cluster.kubectl("api-resources", "--api-group=ironflow.io", "--no-headers").stdout.splitlines()
    kinds = {row.split()[-1] for row in rows}
    assert kinds == {"IronflowSecret", "IronflowConfig"}
    assert all(" true " in f" {row} " for row in rows), "both kinds are namespaced"


def _nested(levels: int) -> object:
    value: object = 1
    for level in range(levels):
        value = [value] if level % 2 else {"a": value}
    return value


def test_given_null_config_value_when_created_then_refused_by_the_api_server(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    result = _create(cluster, namespace, _config("app", {"GONE": None, "KEPT": 1}))
    assert result.returncode != 0, "the API server would have dropped the null name silently"
    assert "null is not a config value (the API server would drop it); unset the name instead: GONE" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"BIG": 2**64}, "numbers beyond +/-9007199254740991 (2^53-1)"),
        ({"NEG": [[-(2**53)]]}, "numbers beyond +/-9007199254740991 (2^53-1)"),
        ({"HUGE": {"f": 1e300}}, "numbers beyond +/-9007199254740991 (2^53-1)"),
        ({"DEEP": _nested(33)}, "a value is nested deeper than 32 levels"),
        # The hostile case: about 1000 levels, which Python's own json cannot even encode.
        ('{"DEEPER": ' + "[" * 1000 + "]" * 1000 + "}", "a value is nested deeper than 32 levels"),
    ],
)
def test_given_config_value_outside_the_value_rule_when_created_then_refused_by_the_api_server(
    cluster: Cluster, values_policy: bool, namespace: str, values: dict[str, object] | str, expected: str
) -> None:
    """From Kubernetes 1.35 on; on older versions the documented loss is what is asserted: the API
    server stores the value (the CLI and the operator refuse it instead; conftest.VALUES_POLICY_LOSS)."""
    raw = isinstance(values, str)  # JSON text, for what json.dumps cannot encode
    manifest = _config("app", "@").replace('"@"', values) if raw else _config("app", values)
    result = _create(cluster, namespace, manifest)
    if not values_policy:
        assert result.returncode == 0, f"not the documented loss, something refused it: {result.stderr[:300]}"
        return
    assert result.returncode != 0, "the API server stored a value the operator could not use exactly"
    assert expected in result.stderr


def test_given_config_values_at_the_bounds_when_created_then_stored_exactly(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    values = {"DEEP": _nested(32), "MAX": 2**53 - 1, "MIN": -(2**53 - 1), "INNER_NULL": {"a": None}}
    result = _create(cluster, namespace, _config("app", values))
    assert result.returncode == 0, result.stderr
    stored = json.loads(cluster.kubectl("get", "ironflowconfig", "app", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"]["values"] == values


def test_given_64_values_of_16_kib_sealed_when_created_then_stored_and_a_65th_name_or_longer_value_refused(
    cluster: Cluster, crds: list[str], namespace: str
) -> None:
    """docs/crypto.md "Limits": 64 names of 16 KiB each fit one IronflowSecret (the API server's
    CEL budget and etcd's request limit), and the schema refuses what lies beyond."""
    pair = derive_sealing_key(bytes(range(32)))
    plaintext = b"x" * MAX_PLAINTEXT_BYTES
    sealed = {f"NAME_{i}": seal(pair.public, namespace, f"NAME_{i}", plaintext) for i in range(64)}
    assert {len(v) for v in sealed.values()} == {MAX_SEALED_CHARS}
    created = _create(cluster, namespace, _secret("full", sealed))
    assert created.returncode == 0, created.stderr[:500]
    longest = {f"NAME_{i}": SEALED[:24] + "A" * (24000 - 24) for i in range(64)}
    assert _create(cluster, namespace, _secret("longest", longest)).returncode == 0
    too_many = _create(cluster, namespace, _secret("many", {**sealed, "NAME_64": SEALED}))
    assert too_many.returncode != 0 and "must have at most 64 items" in too_many.stderr
    too_long = _create(cluster, namespace, _secret("long", {"A": SEALED[:24] + "A" * (24001 - 24)}))
    assert too_long.returncode != 0 and "Too long" in too_long.stderr
