"""`ironflow key rotate | retire | backup` against the real API server and operator:
rotation without plaintext, the count of values still on an old key, retirement refused while one
needs it, and a backup that restores the same key.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml
from cli_support import Cli, assert_one_line_error, spec_map
from kubernetes import client
from operator_fixtures import Operator, configmap_data, new_key, secret_data, wait_ready

from ironflow.core.crypto import derive_sealing_key, parse_sealed
from ironflow_testbed import eventually

pytest_plugins = ["cli_fixtures", "operator_fixtures"]
SECRETS = "ironflowsecrets"


def _published(api: client.ApiClient, namespace: str) -> str | None:
    return (configmap_data(api, namespace, "ironflow-sealing-key") or {}).get("keyId")


def _status(cli: Cli, namespace: str, *extra: str) -> dict[str, object]:
    # exit code aside: this test registers no pod webhook, which status rightly reports (exit 4)
    run = cli("status", "--env", namespace, "-o", "json", *extra)
    assert run.code in (0, 4), run.stderr
    row = json.loads(run.stdout)["keys"][0]
    assert isinstance(row, dict)
    return row


def test_given_keyed_operator_when_rotated_reset_and_retired_then_no_plaintext_needed_and_nothing_lost(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, tmp_path: Path
) -> None:
    key = new_key()
    old_kid = derive_sealing_key(bytes.fromhex(key)).kid
    operator.set_master_key(key)
    operator.start()
    eventually(lambda: _published(k8s_api, namespace) == old_kid, what="key published")
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace
    cli.ok("secret", "set", "A", "a-value", "--env", namespace)
    wait_ready(k8s_api, "IronflowSecret", namespace, "app")

    rotated = json.loads(cli.ok("key", "rotate", "-o", "json").stdout)
    assert rotated["oldKeyId"] == old_kid and rotated["previousKeyIds"] == [old_kid]
    assert key not in json.dumps(rotated)
    new_kid = rotated["keyId"]
    eventually(lambda: _published(k8s_api, namespace) == new_kid, what="rotated key published")
    wait_ready(k8s_api, "IronflowSecret", namespace, "app")  # A still unseals with the previous key
    assert secret_data(k8s_api, namespace, "app") == {"A": "a-value"}
    assert _status(cli, namespace)["olderKeys"] == {old_kid: 1}
    assert _status(cli, namespace, "--wide")["olderKeyNames"] == {old_kid: ["app/A"]}

    refused = cli("key", "retire", old_kid)
    assert_one_line_error(refused, 1, "1 value(s)", old_kid, f"{namespace}/app/A")

    cli.ok("secret", "set", "A", "a-value", "--env", namespace)  # the change was shown, and followed
    assert parse_sealed(spec_map(k8s_api, namespace, SECRETS)["A"]).kid == new_kid
    assert "olderKeys" not in _status(cli, namespace)
    retired = json.loads(cli.ok("key", "retire", old_kid, "-o", "json").stdout)
    assert retired["previousKeyIds"] == []
    wait_ready(k8s_api, "IronflowSecret", namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == {"A": "a-value"}


def test_given_master_key_when_backed_up_deleted_and_restored_then_the_same_key_is_back(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, tmp_path: Path
) -> None:
    key = new_key()
    kid = derive_sealing_key(bytes.fromhex(key)).kid
    operator.set_master_key(key)
    operator.start()
    eventually(lambda: _published(k8s_api, namespace) == kid, what="key published")
    ns = ["--operator-namespace", operator.operator_namespace]
    backup = tmp_path / "master-key.yaml"
    written = cli.ok("key", "backup", "-f", str(backup), *ns)
    assert key not in written.stdout + written.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert_one_line_error(cli("key", "backup", "-f", str(backup), *ns), 1, "exists")

    operator.delete_master_key()
    eventually(
        lambda: (configmap_data(k8s_api, namespace, "ironflow-sealing-key") or {}).get("mode") == "no-key",
        what="no-key published",
    )
    manifest = yaml.safe_load(backup.read_text())
    client.CoreV1Api(k8s_api).create_namespaced_secret(operator.operator_namespace, manifest)
    eventually(lambda: _published(k8s_api, namespace) == kid, what="the same key published again")


def test_given_key_backup_file_when_secret_unseal_reads_it_then_values_come_back_offline(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, tmp_path: Path
) -> None:
    """The recovery tool reads its own backup format (rotated: the previous key is in it too), and
    a damaged file is named in a one-line error that quotes none of it."""
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    eventually(lambda: _published(k8s_api, namespace) == derive_sealing_key(bytes.fromhex(key)).kid,
               what="key published")
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace
    cli.ok("secret", "set", "OLD", "old-canary-value", "--env", namespace)
    new_kid = json.loads(cli.ok("key", "rotate", "-o", "json").stdout)["keyId"]
    eventually(lambda: _published(k8s_api, namespace) == new_kid, what="rotated key published")
    cli.ok("secret", "set", "NEW", "new-canary-value", "--env", namespace)
    backup = tmp_path / "master-key.yaml"
    cli.ok("key", "backup", "-f", str(backup), "--operator-namespace", operator.operator_namespace)
    operator.stop()  # offline from here: nothing but the file and the sealed strings
    sealed = spec_map(k8s_api, namespace, SECRETS)

    for name, value in (("OLD", "old-canary-value"), ("NEW", "new-canary-value")):
        run = cli("secret", "unseal", name, "-", "--env", namespace, "--master-key-file", str(backup),
                  stdin=sealed[name])
        assert run.code == 0 and run.stdout == value, run.stderr
        assert value not in run.stderr

    damaged = tmp_path / "damaged.yaml"
    damaged.write_text(backup.read_text().replace("IRONFLOW_MASTER_KEY: ", "IRONFLOW_MASTER_KEY: x"))
    run = cli("secret", "unseal", "NEW", "-", "--env", namespace, "--master-key-file", str(damaged),
              stdin=sealed["NEW"])
    assert_one_line_error(run, 1, f"master key file {damaged}", "IRONFLOW_MASTER_KEY")
    assert "in Secret" not in run.stderr and "new-canary-value" not in run.stdout + run.stderr
    assert key not in run.stderr and yaml.safe_load(backup.read_text())["data"]["IRONFLOW_MASTER_KEY"] \
        not in run.stderr
