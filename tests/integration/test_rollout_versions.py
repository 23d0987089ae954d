"""The version of a name follows its value, whichever of the operator's two writes lands first.

The operator writes the projected object, then the resource's status. Here the second write is
refused by the API server (a ValidatingAdmissionPolicy on the status subresource, in this test's
namespace only) while a value changes, so the projected Secret already holds the new value when
the operator reconciles again. The name's version and lastChanged must still move, and the
Deployment declaring it must roll: a change must never be forgotten between the two writes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import GROUP, VERSION, OperatorProcess, get_cr
from test_rollouts import baseline, revision, rolled, set_secret
from webhook_fixtures import create_resource, deployment, unique, wait_for_default_service_account

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]


@pytest.fixture
def env(k8s_api: client.ApiClient, namespace: str, pod_webhook: OperatorProcess) -> str:
    create_resource(k8s_api, namespace, "IronflowSecret", "app", {"DB_PASSWORD": "dev:one"})
    wait_for_default_service_account(k8s_api, namespace)
    eventually(lambda: fact(k8s_api, namespace).get("version"), timeout=60, what="a version for DB_PASSWORD")
    return namespace


def fact(api: client.ApiClient, ns: str) -> dict[str, Any]:
    names = (get_cr(api, "IronflowSecret", ns, "app").get("status") or {}).get("names") or {}
    return dict(names.get("DB_PASSWORD") or {})


def projected(api: client.ApiClient, ns: str) -> str:
    data = client.CoreV1Api(api).read_namespaced_secret("app", ns).data or {}
    return base64.b64decode(data.get("DB_PASSWORD", "")).decode()


def status_refused(api: client.ApiClient, ns: str) -> bool:
    try:
        client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, "ironflowsecrets", "app", {"status": {"mode": "dev"}}, dry_run="All"
        )
    except client.ApiException as error:
        return error.status in (403, 422)
    return False


@pytest.fixture
def refuse_status_writes(k8s_api: client.ApiClient, env: str) -> Iterator[dict[str, str]]:
    """A policy refusing status writes of IronflowSecrets in this namespace; delete `binding` to lift it."""
    admission = client.AdmissionregistrationV1Api(k8s_api)
    name = unique("refuse-ironflow-status")
    admission.create_validating_admission_policy(
        {
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [GROUP],
                            "apiVersions": ["*"],
                            "operations": ["UPDATE"],
                            "resources": ["ironflowsecrets/status"],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": "test: status writes refused"}],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": env}}
                },
            },
        }
    )
    try:
        eventually(lambda: status_refused(k8s_api, env), timeout=30, what="the status-refusing policy")
        yield {"binding": name}
    finally:
        for delete in (
            admission.delete_validating_admission_policy_binding,
            admission.delete_validating_admission_policy,
        ):
            try:
                delete(name)
            except client.ApiException as error:
                if error.status != 404:
                    raise


def test_given_status_write_refused_while_value_changed_when_allowed_again_then_version_moves_and_rolls(
    k8s_api: client.ApiClient, env: str, refuse_status_writes: dict[str, str]
) -> None:
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        env, deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"})
    )
    baseline(k8s_api, env, "web")
    eventually(lambda: revision(k8s_api, env, "web"), timeout=60, what="the first revision of web")
    before = fact(k8s_api, env)

    set_secret(k8s_api, env, "DB_PASSWORD", "dev:two")
    # The first write lands: the projected Secret holds the new value; its status cannot follow.
    eventually(lambda: projected(k8s_api, env) == "two", timeout=60, what="the new value projected")
    assert fact(k8s_api, env) == before

    client.AdmissionregistrationV1Api(k8s_api).delete_validating_admission_policy_binding(
        refuse_status_writes["binding"]
    )
    after = eventually(
        lambda: (f := fact(k8s_api, env)).get("version") != before["version"] and f,
        timeout=90,
        what="the version of DB_PASSWORD to follow the projected value",
    )
    assert after["lastChanged"] >= before["lastChanged"]
    assert after["state"] == "Projected"
    eventually(lambda: rolled(k8s_api, env, "web"), timeout=90, what="web to roll for the forgotten change")
