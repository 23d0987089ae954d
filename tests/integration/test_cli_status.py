"""`ironflow status` against the real API server: it tells the truth, and exits 4 when anything
needs attention, in each case a user reported it did not.

The webhook configuration is one cluster-wide object that webhook tests (re)register, so each test
here starts from the state it needs (the running operator registers it; tests that break it do
so themselves).
"""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, Run
from kubernetes import client
from operator_fixtures import Operator, OperatorProcess, apply_cr, new_key, sealed, wait_ready
from webhook_fixtures import deployment

from ironflow_testbed import eventually

pytest_plugins = ["cli_fixtures", "operator_fixtures", "webhook_fixtures"]

CONFIGURATION = "ironflow-pod-declarations"
EXIT_ATTENTION = 4


def _status(cli: Cli, namespace: str, *extra: str) -> tuple[Run, dict[str, Any]]:
    run = cli("status", "--env", namespace, *extra)
    doc = json.loads(cli("status", "--env", namespace, "-o", "json", *extra).stdout)
    assert "Traceback" not in run.stderr, run.stderr
    return run, doc


def _admission(api: client.ApiClient) -> client.AdmissionregistrationV1Api:
    return client.AdmissionregistrationV1Api(api)


def test_given_healthy_environment_when_status_then_exit_0_and_nothing_needs_attention(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, operator: Operator, pod_webhook: OperatorProcess
) -> None:
    key = new_key()
    operator.set_master_key(key)
    apply_cr(k8s_api, "IronflowSecret", namespace, "app", {"A": sealed(key, namespace, "A", "a")})
    wait_ready(k8s_api, "IronflowSecret", namespace, "app")
    run, doc = _status(cli, namespace, "--operator-namespace", operator.operator_namespace)
    assert run.code == 0, run.stdout
    assert doc["attention"] == [] and doc["notReady"] == []
    assert doc["webhook"]["state"] == "ok" and "reachable" in doc["webhook"]["detail"]
    assert (doc["operator"]["state"], doc["operator"]["source"]) == ("alive", "leader Lease")
    assert " leads, Lease renewed " in run.stdout and "nothing needs attention" in run.stdout


def test_given_operator_stopped_and_resource_changed_when_status_then_stale_and_webhook_unreachable(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, operator: Operator, pod_webhook: OperatorProcess
) -> None:
    key = new_key()
    operator.set_master_key(key)
    apply_cr(k8s_api, "IronflowSecret", namespace, "app", {"A": sealed(key, namespace, "A", "a")})
    wait_ready(k8s_api, "IronflowSecret", namespace, "app")
    operator.stop()
    apply_cr(k8s_api, "IronflowSecret", namespace, "app", {"A": sealed(key, namespace, "A", "b")})

    run, doc = _status(cli, namespace, "--grace", "0")
    assert run.code == EXIT_ATTENTION, run.stdout
    assert [(r["name"], r["reason"]) for r in doc["notReady"]] == [("app", "StaleStatus")]
    assert "is the operator running?" in doc["notReady"][0]["message"]
    assert doc["webhook"]["state"] == "problem"
    assert any("unreachable" in p for p in doc["webhook"]["problems"]), doc["webhook"]
    assert "all 1 Ironflow resource(s) Ready" not in run.stdout

    pending, _ = _status(cli, namespace, "--grace", "3600")  # a fresh change is pending, not stale
    assert "Pending" in pending.stdout


def test_given_webhook_configuration_broken_or_deleted_when_status_then_exit_4_naming_it(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, pod_webhook: OperatorProcess
) -> None:
    admission = _admission(k8s_api)
    config = admission.read_mutating_webhook_configuration(CONFIGURATION)
    for webhook in config.webhooks:
        webhook.client_config.ca_bundle = base64.b64encode(b"not a certificate").decode()
    admission.replace_mutating_webhook_configuration(CONFIGURATION, config)
    run, doc = _status(cli, namespace)
    assert run.code == EXIT_ATTENTION
    assert any("caBundle is not base64 PEM certificates" in p for p in doc["webhook"]["problems"])

    admission.delete_mutating_webhook_configuration(CONFIGURATION)
    run, doc = _status(cli, namespace)
    assert run.code == EXIT_ATTENTION
    assert any(f"{CONFIGURATION} is missing" in p for p in doc["webhook"]["problems"])
    assert "admitted without their values" in run.stdout


def test_given_deployment_declaring_missing_name_when_status_then_blocked_with_the_fixing_command(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, pod_webhook: OperatorProcess
) -> None:
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        namespace, deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"})
    )

    def blocked() -> dict[str, Any] | None:
        doc = json.loads(cli("status", "--env", namespace, "-o", "json").stdout)
        return doc if doc["blocked"] else None

    doc = eventually(blocked, timeout=60, what="the Deployment reported as blocked")
    row = doc["blocked"][0]
    assert (row["kind"], row["name"], row["missing"]) == ("Deployment", "web", ["secret DB_PASSWORD"])
    assert row["fix"] == [f"ironflow secret set DB_PASSWORD --env {namespace}"]
    run = cli("status", "--env", namespace)
    assert run.code == EXIT_ATTENTION
    assert f"ironflow secret set DB_PASSWORD --env {namespace}" in run.stdout
    wide = cli("status", "--env", namespace, "--wide")
    assert row["message"] in wide.stdout  # whole, not shortened


def test_given_operator_deployment_without_ready_pod_when_status_then_operator_down(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, operator: Operator
) -> None:
    # Without a Lease (an operator run with --no-leader-election), the Deployment decides.
    operator.stop()
    with contextlib.suppress(client.ApiException):  # 404: this test's operator never led
        client.CoordinationV1Api(k8s_api).delete_namespaced_lease(
            "ironflow-operator", operator.operator_namespace
        )
    body = deployment("ironflow-operator", {})
    labels = {"app.kubernetes.io/name": "ironflow-operator"}
    body["spec"]["selector"]["matchLabels"] = labels
    body["spec"]["template"]["metadata"]["labels"] = labels
    client.AppsV1Api(k8s_api).create_namespaced_deployment(operator.operator_namespace, body)

    def down() -> dict[str, Any] | None:
        run = cli(
            "status", "--env", namespace, "--operator-namespace", operator.operator_namespace, "-o", "json"
        )
        doc: dict[str, Any] = json.loads(run.stdout)
        return doc if doc["operator"]["state"] == "down" and run.code == EXIT_ATTENTION else None

    doc = eventually(down, timeout=60, what="status to report the operator down")
    assert "Pending" in doc["operator"]["detail"] or "no pods" in doc["operator"]["detail"]


@pytest.mark.usefixtures("pod_webhook")
def test_given_value_sealed_for_another_key_when_secret_list_then_reason_per_name(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, operator: Operator, tmp_path: Path
) -> None:
    key = new_key()
    operator.set_master_key(key)
    apply_cr(
        k8s_api,
        "IronflowSecret",
        namespace,
        "app",
        {
            "GOOD": sealed(key, namespace, "GOOD", "g"),
            "BAD": sealed(new_key(), namespace, "BAD", "b"),
        },
    )
    wait_ready(k8s_api, "IronflowSecret", namespace, "app", reason="UnsealFailed")
    listing = cli.ok("secret", "list", "--env", namespace).stdout
    lines = {line.split()[0]: line for line in listing.splitlines()[1:]}
    assert "REASON" in listing.splitlines()[0]
    assert "WrongKey" in lines["BAD"] and "Failed" in lines["BAD"]
    assert "WrongKey" not in lines["GOOD"]
