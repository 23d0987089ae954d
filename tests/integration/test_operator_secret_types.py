"""Typed Secrets through the real API server: TLS for an Ingress, image pull for a pod, type rules.

The API server, not Ironflow, owns the rules of each Secret type; these tests check that the
projection obeys them (type, keys with dots), that a refusal is reported in Ready with the API
server's reason and loses nothing, and that native consumers accept the projected objects.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cli_support import Cli
from kubernetes import client
from operator_fixtures import (
    GROUP,
    PLURAL,
    VERSION,
    Operator,
    get_cr,
    new_key,
    ready,
    sealed,
    secret_data,
    wait_ready,
    wait_status,
)

from ironflow.core.crypto import derive_sealing_key

pytest_plugins = ["operator_fixtures", "cli_fixtures"]
SECRET = "IronflowSecret"
CANARY = "Zk7-canary-tls-key"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
KEY = f"-----BEGIN PRIVATE KEY-----\n{CANARY}\n-----END PRIVATE KEY-----\n"


def _apply(
    api: client.ApiClient, namespace: str, name: str, sealed_map: dict[str, str], template: Any
) -> None:
    custom = client.CustomObjectsApi(api)
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": SECRET,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"sealed": sealed_map, "template": template},
    }
    try:
        current = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[SECRET], name)
    except client.ApiException as error:
        assert error.status == 404
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[SECRET], body)
        return
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[SECRET], name, body)


def test_given_tls_ironflow_secret_when_projected_then_typed_secret_serves_an_ingress(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    template = {
        "type": "kubernetes.io/tls",
        "metadata": {"labels": {"team": "web"}, "annotations": {"cert-owner": "platform"}},
    }
    values = {
        "tls.crt": sealed(key, namespace, "tls.crt", CERT),
        "tls.key": sealed(key, namespace, "tls.key", KEY),
    }
    _apply(k8s_api, namespace, "web-tls", values, template)
    wait_ready(k8s_api, SECRET, namespace, "web-tls")
    secret = client.CoreV1Api(k8s_api).read_namespaced_secret("web-tls", namespace)
    assert secret.type == "kubernetes.io/tls"
    assert secret.metadata.labels == {"team": "web", "app.kubernetes.io/managed-by": "ironflow-operator"}
    assert secret.metadata.annotations["cert-owner"] == "platform"
    assert set(secret.metadata.annotations) == {"cert-owner", "ironflow.io/versions"}  # the operator's own
    assert secret_data(k8s_api, namespace, "web-tls") == {"tls.crt": CERT, "tls.key": KEY}

    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {
            "tls": [{"hosts": ["web.example.test"], "secretName": "web-tls"}],
            "rules": [
                {
                    "host": "web.example.test",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    made = client.NetworkingV1Api(k8s_api).create_namespaced_ingress(namespace, ingress)
    assert made.spec.tls[0].secret_name == "web-tls"


def test_given_tls_secret_losing_tls_key_when_reconciled_then_not_ready_with_api_reason_and_nothing_lost(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    template = {"type": "kubernetes.io/tls"}
    crt, tls_key = sealed(key, namespace, "tls.crt", CERT), sealed(key, namespace, "tls.key", KEY)
    _apply(k8s_api, namespace, "web-tls", {"tls.crt": crt, "tls.key": tls_key}, template)
    wait_ready(k8s_api, SECRET, namespace, "web-tls")

    _apply(k8s_api, namespace, "web-tls", {"tls.crt": crt}, template)
    cr = wait_ready(k8s_api, SECRET, namespace, "web-tls", reason="ProjectionFailed", timeout=60)
    message = ready(cr)["message"]
    assert "422 Invalid" in message and "data[tls.key]: Required value" in message, message
    assert secret_data(k8s_api, namespace, "web-tls") == {"tls.crt": CERT, "tls.key": KEY}

    _apply(k8s_api, namespace, "web-tls", {"tls.crt": crt, "tls.key": tls_key}, {"type": "Opaque"})
    cr = wait_ready(k8s_api, SECRET, namespace, "web-tls", reason="ProjectionFailed", timeout=60)
    assert "immutable" in ready(cr)["message"], ready(cr)
    assert client.CoreV1Api(k8s_api).read_namespaced_secret("web-tls", namespace).type == "kubernetes.io/tls"

    _apply(k8s_api, namespace, "born-broken", {"tls.crt": crt}, template)
    cr = wait_ready(k8s_api, SECRET, namespace, "born-broken", reason="ProjectionFailed", timeout=60)
    assert "data[tls.key]: Required value" in ready(cr)["message"]
    assert secret_data(k8s_api, namespace, "born-broken") is None
    statuses = json.dumps(get_cr(k8s_api, SECRET, namespace, "web-tls")) + json.dumps(cr)
    assert CANARY not in statuses and CANARY not in operator.logs()


def test_given_dockerconfigjson_ironflow_secret_when_projected_then_pod_may_pull_with_it(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    auth = {"auths": {"registry.example.test": {"auth": "dXNlcjpwYXNz"}}}
    value = json.dumps(auth)
    _apply(
        k8s_api,
        namespace,
        "regcred",
        {".dockerconfigjson": sealed(key, namespace, ".dockerconfigjson", value)},
        {"type": "kubernetes.io/dockerconfigjson"},
    )
    wait_ready(k8s_api, SECRET, namespace, "regcred")
    secret = client.CoreV1Api(k8s_api).read_namespaced_secret("regcred", namespace)
    assert secret.type == "kubernetes.io/dockerconfigjson"
    assert json.loads(secret_data(k8s_api, namespace, "regcred")[".dockerconfigjson"]) == auth  # type: ignore[index]

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "private"},
        "spec": {
            "imagePullSecrets": [{"name": "regcred"}],
            "containers": [{"name": "app", "image": "registry.example.test/app:1"}],
        },
    }
    made = client.CoreV1Api(k8s_api).create_namespaced_pod(namespace, pod)
    assert made.spec.image_pull_secrets[0].name == "regcred"
    # TODO(node): with a kubelet, assert the pull is attempted with these credentials.

    _apply(
        k8s_api,
        namespace,
        "regcred",
        {".dockerconfigjson": sealed(key, namespace, ".dockerconfigjson", "{not json")},
        {"type": "kubernetes.io/dockerconfigjson"},
    )
    cr = wait_status(
        k8s_api,
        SECRET,
        namespace,
        "regcred",
        lambda c: ready(c).get("reason") == "ProjectionFailed",
        "ProjectionFailed",
        timeout=60,
    )
    assert "data[.dockerconfigjson]: Invalid value" in ready(cr)["message"]
    assert "not json" not in json.dumps(cr)
    assert json.loads(secret_data(k8s_api, namespace, "regcred")[".dockerconfigjson"]) == auth  # type: ignore[index]


TYPED = [
    ("web-tls", "kubernetes.io/tls", {"tls.crt": CERT, "tls.key": KEY}),
    ("regcred", "kubernetes.io/dockerconfigjson", {".dockerconfigjson": '{"auths": {}}'}),
]


@pytest.mark.parametrize(("name", "type_", "values"), TYPED, ids=[t[1] for t in TYPED])
def test_given_typed_secret_sealed_for_a_foreign_key_when_reconciled_then_each_name_tells_its_cause(
    operator: Operator, namespace: str, k8s_api: client.ApiClient, cli: Cli,
    name: str, type_: str, values: dict[str, str],
) -> None:
    key, foreign = new_key(), new_key()
    foreign_kid = derive_sealing_key(bytes.fromhex(foreign)).kid
    operator.set_master_key(key)
    operator.start()
    _apply(k8s_api, namespace, name, {n: sealed(foreign, namespace, n, v) for n, v in values.items()},
           {"type": type_})

    cr = wait_status(k8s_api, SECRET, namespace, name, lambda c: ready(c).get("reason") == "UnsealFailed",
                     "UnsealFailed", timeout=60)
    message = ready(cr)["message"]
    assert "422" not in message and f"unknown key id {foreign_kid}" in message, message
    assert message.startswith(f"{sorted(values)[0]}: "), message
    names = cr["status"]["names"]
    assert set(names) == set(values)
    for fact_name, fact in names.items():
        assert (fact["state"], fact["reason"], fact["keyId"]) == ("Failed", "WrongKey", foreign_kid), fact
        assert fact["message"].startswith(f"{fact_name}: sealed for unknown key id {foreign_kid}"), fact
    assert secret_data(k8s_api, namespace, name) is None  # nothing the API server would refuse was sent

    rows = json.loads(cli.ok("secret", "list", "--env", namespace, "-o", "json").stdout)
    assert {(r["name"], r["keyId"], r["state"], r["reason"]) for r in rows} == {
        (n, foreign_kid, "Failed", "WrongKey") for n in values
    }
    listing = cli.ok("secret", "list", "--env", namespace).stdout
    assert "Pending" not in listing and listing.count("WrongKey") == len(values), listing
    status = cli("status", "--env", namespace, "--wide")
    assert f"sealed for unknown key id {foreign_kid}" in status.stdout, status.stdout
    assert "older key id" not in status.stdout


def test_given_projected_tls_secret_when_resealed_for_a_foreign_key_then_nothing_blanked_and_cause_shown(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key, foreign = new_key(), new_key()
    operator.set_master_key(key)
    operator.start()
    good = {n: sealed(key, namespace, n, v) for n, v in (("tls.crt", CERT), ("tls.key", KEY))}
    _apply(k8s_api, namespace, "web-tls", good, {"type": "kubernetes.io/tls"})
    projected = wait_ready(k8s_api, SECRET, namespace, "web-tls")["status"]["names"]

    bad = {n: sealed(foreign, namespace, n, "other") for n in good}
    _apply(k8s_api, namespace, "web-tls", bad, {"type": "kubernetes.io/tls"})
    cr = wait_status(k8s_api, SECRET, namespace, "web-tls",
                     lambda c: ready(c).get("reason") == "UnsealFailed", "UnsealFailed", timeout=60)
    for name, fact in cr["status"]["names"].items():
        assert fact["reason"] == "WrongKey" and fact["version"] == projected[name]["version"], fact
    assert secret_data(k8s_api, namespace, "web-tls") == {"tls.crt": CERT, "tls.key": KEY}
