"""A name the environment defines but never projected does not reach pods (real API server, TLS).

A value sealed for another cluster's key never unseals here, so its Secret never holds the key:
a pod pointed at it would be admitted and then fail at container start. The webhook refuses it
with that name's own cause instead, or leaves it out when the pod declares it optional. A name
whose new value fails keeps its last good value projected, and pods get that one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import Operator, OperatorProcess, new_key, ready, sealed, wait_status
from webhook_fixtures import create_resource, pod_manifest, serving_webhook, unique, wait_projected

from ironflow.core.crypto import derive_sealing_key

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]
SECRET = "IronflowSecret"


@pytest.fixture
def keyed(
    operator: Operator, k8s_api: client.ApiClient, namespace: str, webhook_cluster_role: str, tmp_path: Path
) -> Iterator[tuple[str, OperatorProcess]]:
    key = new_key()
    operator.set_master_key(key)
    with serving_webhook(operator, k8s_api, namespace, webhook_cluster_role, tmp_path) as run:
        yield key, run


def _failed(name: str) -> Any:
    def check(cr: dict[str, Any]) -> bool:
        fact = ((cr.get("status") or {}).get("names") or {}).get(name) or {}
        return ready(cr).get("reason") == "UnsealFailed" and fact.get("reason") == "WrongKey"
    return check


def _env_names(pod: Any) -> list[str]:
    return [e.name for e in pod.spec.containers[0].env or []]


def test_given_value_sealed_for_a_foreign_key_when_a_pod_requires_it_then_refused_with_its_cause(
    k8s_api: client.ApiClient, namespace: str, keyed: tuple[str, OperatorProcess]
) -> None:
    key, _ = keyed
    foreign = new_key()
    foreign_kid = derive_sealing_key(bytes.fromhex(foreign)).kid
    create_resource(k8s_api, namespace, SECRET, "app", {
        "DB_PASSWORD": sealed(foreign, namespace, "DB_PASSWORD", "from-another-cluster"),
        "OTHER": sealed(key, namespace, "OTHER", "fine"),
    })
    wait_status(k8s_api, SECRET, namespace, "app", _failed("DB_PASSWORD"), "DB_PASSWORD failing", timeout=60)
    core = client.CoreV1Api(k8s_api)

    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod(
            namespace, pod_manifest(unique("p"), {"ironflow.io/secrets": "DB_PASSWORD"})
        )
    message = str(json.loads(refused.value.body)["message"])
    assert f"environment {namespace} has not projected" in message, message
    assert "secret DB_PASSWORD (IronflowSecret app): never projected" in message, message
    assert f"unknown key id {foreign_kid}" in message and "seal it again" in message, message
    assert "from-another-cluster" not in message

    # Optional: admitted without it; the name it could read is the one that is projected.
    pod = core.create_namespaced_pod(
        namespace, pod_manifest(unique("p"), {"ironflow.io/secrets": "DB_PASSWORD?, OTHER"})
    )
    assert _env_names(pod) == ["OTHER"]
    assert json.loads(pod.metadata.annotations["ironflow.io/injected"])["absentOptional"] == ["DB_PASSWORD"]


def test_given_projected_value_whose_new_one_fails_when_a_pod_requires_it_then_it_gets_the_projected_one(
    k8s_api: client.ApiClient, namespace: str, keyed: tuple[str, OperatorProcess]
) -> None:
    key, _ = keyed
    first = sealed(key, namespace, "DB_PASSWORD", "v1")
    create_resource(k8s_api, namespace, SECRET, "app", {"DB_PASSWORD": first})
    wait_projected(k8s_api, namespace, SECRET, "app")
    client.CustomObjectsApi(k8s_api).patch_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, "ironflowsecrets", "app",
        {"spec": {"sealed": {"DB_PASSWORD": sealed(new_key(), namespace, "DB_PASSWORD", "v2")}}},
    )
    wait_status(k8s_api, SECRET, namespace, "app", _failed("DB_PASSWORD"), "DB_PASSWORD failing", timeout=60)

    pod = client.CoreV1Api(k8s_api).create_namespaced_pod(
        namespace, pod_manifest(unique("p"), {"ironflow.io/secrets": "DB_PASSWORD"})
    )
    assert _env_names(pod) == ["DB_PASSWORD"]
