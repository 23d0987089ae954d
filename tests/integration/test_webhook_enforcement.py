"""Enforced environments (namespace label): managed Secrets are reachable only through a declaration."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import OperatorProcess
from webhook_fixtures import (
    create_resource,
    pod_manifest,
    wait_for_default_service_account,
    wait_projected,
)

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]


def label(api: client.ApiClient, ns: str) -> None:
    client.CoreV1Api(api).patch_namespace(ns, {"metadata": {"labels": {"ironflow.io/enforce": "true"}}})


@pytest.fixture
def env(k8s_api: client.ApiClient, namespace: str, pod_webhook: OperatorProcess) -> str:
    create_resource(k8s_api, namespace, "IronflowSecret", "app", {"DB_PASSWORD": "dev:x", "OTHER": "dev:y"})
    wait_projected(k8s_api, namespace, "IronflowSecret", "app")
    wait_for_default_service_account(k8s_api, namespace)
    return namespace


def envfrom_pod(secret: str) -> dict[str, Any]:
    return pod_manifest(
        "p",
        {},
        containers=[
            {"name": "app", "image": "registry.invalid/app:1", "envFrom": [{"secretRef": {"name": secret}}]}
        ],
    )


def dry_run(api: client.ApiClient, ns: str, body: dict[str, Any]) -> Any:
    return client.CoreV1Api(api).create_namespaced_pod(ns, body, dry_run="All")


def refusal(api: client.ApiClient, ns: str, body: dict[str, Any]) -> str:
    with pytest.raises(client.ApiException) as caught:
        dry_run(api, ns, body)
    return str(json.loads(caught.value.body)["message"])


def enforced(api: client.ApiClient, ns: str) -> bool:
    """The API server's namespace informer has seen the label: an envFrom pod is refused."""
    try:
        dry_run(api, ns, envfrom_pod("app"))
    except client.ApiException as error:
        return error.status == 403
    return False


def test_given_unlabelled_environment_when_pod_mounts_managed_secret_then_admitted(
    k8s_api: client.ApiClient, env: str
) -> None:
    assert dry_run(k8s_api, env, envfrom_pod("app")).metadata.name == "p"


def test_given_enforced_environment_when_pod_reaches_managed_secret_around_declaration_then_refused(
    k8s_api: client.ApiClient, env: str
) -> None:
    label(k8s_api, env)
    eventually(lambda: enforced(k8s_api, env), timeout=30, what="enforcement to apply to the namespace")
    message = refusal(k8s_api, env, envfrom_pod("app"))
    assert "container app envFrom (Secret app)" in message and f"environment {env} is enforced" in message

    volume = pod_manifest("p", {})
    volume["spec"]["volumes"] = [{"name": "all", "secret": {"secretName": "app"}}]
    assert "volume all (Secret app)" in refusal(k8s_api, env, volume)

    sneaky = pod_manifest(
        "p",
        {"ironflow.io/secrets": "DB_PASSWORD"},
        containers=[
            {
                "name": "app",
                "image": "registry.invalid/app:1",
                "env": [{"name": "OTHER", "valueFrom": {"secretKeyRef": {"name": "app", "key": "OTHER"}}}],
            }
        ],
    )
    assert "container app env OTHER (Secret app)" in refusal(k8s_api, env, sneaky)


def test_given_enforced_environment_when_pod_declares_or_uses_unmanaged_secret_then_admitted(
    k8s_api: client.ApiClient, env: str
) -> None:
    label(k8s_api, env)
    eventually(lambda: enforced(k8s_api, env), timeout=30, what="enforcement to apply to the namespace")
    declared = dry_run(
        k8s_api,
        env,
        pod_manifest("p", {"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "env,files"}),
    )
    assert [e.name for e in declared.spec.containers[0].env] == ["DB_PASSWORD"]
    client.CoreV1Api(k8s_api).create_namespaced_secret(
        env, {"metadata": {"name": "tls-certificates"}, "stringData": {"tls.crt": "not-managed"}}
    )
    assert dry_run(k8s_api, env, envfrom_pod("tls-certificates")).metadata.name == "p"


def test_given_enforced_environment_when_pod_refers_to_a_secret_not_created_yet_then_refused(
    k8s_api: client.ApiClient, env: str
) -> None:
    """Waiting must not get around enforcement: once IronflowSecret `future` is projected, a pod
    admitted earlier with a reference to Secret `future` (optional, or required and left pending
    by the kubelet) would read all of it. Such a pod is refused while no Secret of that name exists."""
    label(k8s_api, env)
    eventually(lambda: enforced(k8s_api, env), timeout=30, what="enforcement to apply to the namespace")
    core = client.CoreV1Api(k8s_api)

    waiting = envfrom_pod("future")
    waiting["spec"]["containers"][0]["envFrom"][0]["secretRef"]["optional"] = True
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_pod(env, waiting)
    message = str(json.loads(caught.value.body)["message"])
    assert caught.value.status == 403
    assert "container app envFrom (Secret future, which does not exist yet)" in message

    pending = pod_manifest("p", {})
    pending["spec"]["volumes"] = [{"name": "later", "secret": {"secretName": "future"}}]
    assert "volume later (Secret future, which does not exist yet)" in refusal(k8s_api, env, pending)
    key_ref = pod_manifest(
        "p",
        {},
        containers=[
            {
                "name": "app",
                "image": "registry.invalid/app:1",
                "env": [
                    {
                        "name": "K",
                        "valueFrom": {"secretKeyRef": {"name": "future", "key": "K", "optional": True}},
                    }
                ],
            }
        ],
    )
    assert "container app env K (Secret future, which does not exist yet)" in refusal(k8s_api, env, key_ref)

    # Once `future` is an IronflowSecret, the same pod is refused as reaching a managed Secret.
    create_resource(k8s_api, env, "IronflowSecret", "future", {"K": "dev:later"})
    eventually(
        lambda: "container app envFrom (Secret future)" in refusal(k8s_api, env, waiting),
        timeout=30,
        what="the pod to be refused for reaching the managed Secret future",
    )
    assert not core.list_namespaced_pod(env).items


def _debug_container(name: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "image": "registry.invalid/debug:1", "env": env}


def test_given_enforced_environment_when_debug_container_reaches_managed_secret_then_refused(
    k8s_api: client.ApiClient, env: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    core.create_namespaced_pod(env, pod_manifest("target", {"ironflow.io/secrets": "DB_PASSWORD"}))
    label(k8s_api, env)
    eventually(lambda: enforced(k8s_api, env), timeout=30, what="enforcement to apply to the namespace")
    pod = core.read_namespaced_pod("target", env)
    body = k8s_api.sanitize_for_serialization(pod)

    # kubectl debug: an ephemeral container reading a managed Secret around the declaration
    peek = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "app", "key": "OTHER"}}}]
    body["spec"]["ephemeralContainers"] = [_debug_container("peek", peek)]
    with pytest.raises(client.ApiException) as caught:
        core.replace_namespaced_pod_ephemeralcontainers("target", env, body)
    message = str(json.loads(caught.value.body)["message"])
    assert "container peek env X (Secret app)" in message and f"environment {env} is enforced" in message

    # an ordinary debug container (no managed Secret) is still allowed, even though the pod's own
    # containers hold the injected DB_PASSWORD reference
    body["spec"]["ephemeralContainers"] = [_debug_container("shell", [])]
    updated = core.replace_namespaced_pod_ephemeralcontainers("target", env, body)
    assert [c.name for c in updated.spec.ephemeral_containers] == ["shell"]
