"""The user's journey with the real operator: keygen, the published key, set, list, projection.

Here nothing is published by the test: the sealing-key ConfigMap comes from the operator, so
these tests show that the CLI and the operator agree on the ConfigMap and the sealed format.
"""

from __future__ import annotations

import json
from typing import Any

from cli_support import Cli
from kubernetes import client
from operator_fixtures import Operator, configmap_data, secret_data, wait_ready

from ironflow.core.crypto import derive_sealing_key
from ironflow_testbed import eventually

pytest_plugins = ["cli_fixtures", "operator_fixtures"]


def _published(k8s_api: client.ApiClient, namespace: str, mode: str) -> dict[str, str] | None:
    data = configmap_data(k8s_api, namespace, "ironflow-sealing-key")
    return data if data and data.get("mode") == mode else None


def test_given_operator_keyed_with_keygen_key_when_user_sets_values_then_projected_and_listed(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = cli.ok("keygen").stdout.strip()
    operator.set_master_key(key)
    operator.start()
    eventually(lambda: _published(k8s_api, namespace, "keyed"), what="sealing key published by the operator")
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace

    first = cli.ok("secret", "set", "DB_PASSWORD", "--env", namespace, "-", stdin="s3cr3t-from-stdin\n")
    # first use: the signer is taken from the operator's namespace (tenants cannot write there)
    assert "trusting the operator signing key" in first.stderr and "ironflow-signing-key" in first.stderr
    cli.ok("config", "set", "HTTP_TIMEOUT_MS", "2500", "--env", namespace)

    wait_ready(k8s_api, "IronflowSecret", namespace, "app")
    wait_ready(k8s_api, "IronflowConfig", namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == {"DB_PASSWORD": "s3cr3t-from-stdin"}
    assert configmap_data(k8s_api, namespace, "app") == {"HTTP_TIMEOUT_MS": "2500"}

    kid = derive_sealing_key(bytes.fromhex(key)).kid
    rows = json.loads(cli.ok("secret", "list", "--env", namespace, "-o", "json").stdout)
    assert [(r["name"], r["keyId"], r["state"]) for r in rows] == [("DB_PASSWORD", kid, "Projected")]
    assert rows[0]["lastChanged"]

    def all_ready() -> dict[str, Any] | None:
        # exit code aside: the cluster-wide webhook configuration is not this test's to judge
        status_args = ("status", "--env", namespace, "--operator-namespace", operator.operator_namespace)
        doc: dict[str, Any] = json.loads(cli(*status_args, "-o", "json").stdout)
        return doc if not doc["notReady"] else None

    status = eventually(all_ready, what="ironflow status with nothing not Ready")
    assert status["keys"] == [{"environment": namespace, "mode": "keyed", "keyId": kid}]
    assert (status["operator"]["state"], status["operator"]["source"]) == ("alive", "leader Lease")


def test_given_dev_mode_operator_when_user_sets_secret_with_dev_then_dev_form_warned_and_projected(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    operator.start("--dev-mode")
    eventually(lambda: _published(k8s_api, namespace, "dev"), what="dev-mode sealing key ConfigMap")
    result = cli.ok("secret", "set", "TOKEN", "--dev", "--env", namespace, "-", stdin="dev-value")
    assert "development mode" in result.stderr and "plaintext" in result.stderr
    eventually(
        lambda: secret_data(k8s_api, namespace, "app") == {"TOKEN": "dev-value"}, what="dev value projected"
    )
    status_args = ("status", "--env", namespace, "--operator-namespace", operator.operator_namespace)
    assert json.loads(cli(*status_args, "-o", "json").stdout)["keys"][0]["mode"] == "dev"
