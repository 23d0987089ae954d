"""The CLI seals only for a key it can authenticate (docs/security.md), never plaintext unless
asked (development mode), and never for a stale key: with the real operator publishing, and a
tenant who may edit ConfigMaps (but not read Secrets) attacking the published key.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest
from cli_support import Cli, Run, assert_one_line_error, spec_map
from kubernetes import client, config
from operator_fixtures import Operator, configmap_data, new_key, wait_ready

from ironflow.core.crypto import (
    derive_sealing_key,
    is_dev_form,
    parse_sealed,
    sealing_key_configmap_data,
    unseal,
)
from ironflow.core.key_publication import sealing_key_data
from ironflow.core.keyring import Keyring
from ironflow.core.signing import derive_signer
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["cli_fixtures", "operator_fixtures"]
SEALING_KEY = "ironflow-sealing-key"
SECRETS = "ironflowsecrets"
CM_EDITOR = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "update", "patch"]}
]


def _published_kid(api: client.ApiClient, namespace: str, kid: str) -> bool:
    return (configmap_data(api, namespace, SEALING_KEY) or {}).get("keyId") == kid


def _start(cli: Cli, operator: Operator, api: client.ApiClient, namespace: str, key: str) -> None:
    operator.set_master_key(key)
    operator.start()
    kid = derive_sealing_key(bytes.fromhex(key)).kid
    eventually(lambda: _published_kid(api, namespace, kid), what="the operator's signed key published")
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace


def _forgeries(real: Keyring, namespace: str) -> dict[str, dict[str, str]]:
    """What a ConfigMap editor can write: every one must be refused."""
    attacker = Keyring.from_master_keys(bytes.fromhex(new_key()))
    assert attacker.current is not None
    genuine = sealing_key_data(real, "keyed", namespace)
    return {
        "dev mode": {"mode": "dev"},
        "no signature": {"mode": "keyed", **sealing_key_configmap_data(attacker.current)},
        "attacker key, real signature": {**genuine, **sealing_key_configmap_data(attacker.current)},
        "self-signed by the attacker": sealing_key_data(attacker, "keyed", namespace),
        "genuine, copied from another namespace": sealing_key_data(real, "keyed", "elsewhere"),
    }


def _attacker_api(
    cluster: Cluster, api: client.ApiClient, namespace: str, tmp_path: Path
) -> client.CoreV1Api:
    path = cluster.service_account_kubeconfig(api, namespace, "mallory", tmp_path / "mallory", CM_EDITOR)
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(path)))
    try:  # the attacker's identity: ConfigMaps yes, Secrets no
        core.list_namespaced_secret(namespace)
        raise AssertionError("the attacker can read Secrets; the test would prove nothing")
    except client.ApiException as error:
        assert error.status == 403
    return core


def _write(core: client.CoreV1Api, namespace: str, data: dict[str, str]) -> None:
    core.patch_namespaced_config_map(
        SEALING_KEY, namespace, [{"op": "replace", "path": "/data", "value": data}]
    )


def _stored_values_sealed_for(api: client.ApiClient, namespace: str, keyring: Keyring) -> dict[str, bytes]:
    assert keyring.current is not None
    stored = spec_map(api, namespace, SECRETS)
    assert not [name for name, value in stored.items() if is_dev_form(value)], stored
    assert {name: parse_sealed(value).kid for name, value in stored.items()} == dict.fromkeys(
        stored, keyring.current.kid
    )
    return {name: unseal(keyring, namespace, name, value, allow_dev=False) for name, value in stored.items()}


def test_given_configmap_editor_forging_the_key_when_user_seals_then_every_forgery_refused_in_one_line(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster, tmp_path: Path
) -> None:
    key = new_key()
    real = Keyring.from_master_keys(bytes.fromhex(key))
    _start(cli, operator, k8s_api, namespace, key)
    cli.ok("secret", "set", "FIRST", "first-value", "--env", namespace)  # pins the signer from the anchor
    attacker = _attacker_api(cluster, k8s_api, namespace, tmp_path)
    operator.stop()  # nobody repairs the ConfigMap: each forgery is what the CLI reads
    newcomer = Cli(cli.kubeconfig, tmp_path / "newcomer-home", dict(cli.env))  # no pin yet: uses the anchor
    newcomer.home.mkdir()
    for what, data in _forgeries(real, namespace).items():
        _write(attacker, namespace, data)
        canary = f"canary-{uuid.uuid4().hex}"
        for user in (cli, newcomer):
            result = user("secret", "set", "STOLEN", canary, "--env", namespace)
            assert_one_line_error(result, 1)
            assert canary not in result.stdout + result.stderr, what
            seal = user("secret", "seal", "STOLEN", canary, "--env", namespace)
            assert_one_line_error(seal, 1)
            assert seal.stdout == "", what
    assert _stored_values_sealed_for(k8s_api, namespace, real) == {"FIRST": b"first-value"}


def test_given_configmap_editor_rewriting_the_key_in_a_loop_when_secret_set_runs_then_nothing_leaks(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster, tmp_path: Path
) -> None:
    """The publication race: the operator puts its key back, the attacker rewrites it, users seal."""
    key = new_key()
    real = Keyring.from_master_keys(bytes.fromhex(key))
    _start(cli, operator, k8s_api, namespace, key)
    attacker = _attacker_api(cluster, k8s_api, namespace, tmp_path)
    forgeries = list(_forgeries(real, namespace).values())
    stop, writes = threading.Event(), [0]

    def attack() -> None:
        while not stop.is_set():
            try:
                _write(attacker, namespace, forgeries[writes[0] % len(forgeries)])
                writes[0] += 1
            except client.ApiException:
                pass  # a conflict with the operator's repair: try again

    thread = threading.Thread(target=attack, daemon=True)
    thread.start()
    values = {f"V{i}": f"canary-{i}-{uuid.uuid4().hex}" for i in range(10)}
    runs: dict[str, Run] = {}
    try:
        for name, value in values.items():
            runs[name] = cli("secret", "set", name, "-", "--env", namespace, stdin=value)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert writes[0] > len(values), "the attack did not run"
    for name, run in runs.items():
        assert "Traceback" not in run.stderr
        assert values[name] not in run.stdout + run.stderr
        if run.code != 0:
            assert_one_line_error(run, 1)
    stored = (
        _stored_values_sealed_for(k8s_api, namespace, real) if any(r.code == 0 for r in runs.values()) else {}
    )
    assert stored == {name: values[name].encode() for name, run in runs.items() if run.code == 0}
    assert all(
        value not in json.dumps(configmap_data(k8s_api, namespace, SEALING_KEY)) for value in values.values()
    )
    if cluster.audit is None:
        pytest.skip("audit log needed: external cluster")
    # No request (CLI, attacker) carries a value in the clear; the projected Secret holds them
    # base64-encoded on purpose, so only the raw form is searched.
    log = cluster.audit.path.read_text(encoding="utf-8")
    assert [value for value in values.values() if value in log] == []


def test_given_rotation_when_user_seals_then_change_shown_and_unendorsed_change_refused(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, tmp_path: Path
) -> None:
    old, new, replaced = new_key(), new_key(), new_key()
    _start(cli, operator, k8s_api, namespace, old)
    cli.ok("secret", "set", "A", "a", "--env", namespace)
    old_file = tmp_path / "old-key.yaml"
    old_file.write_text(cli.ok("secret", "public-key", "--env", namespace, "-o", "yaml").stdout)

    operator.set_master_key(new, previous=old)  # a rotation: the old signer endorses the new one
    new_kid = derive_sealing_key(bytes.fromhex(new)).kid
    eventually(lambda: _published_kid(k8s_api, namespace, new_kid), what="rotated key published")
    followed = cli.ok("secret", "set", "B", "b", "--env", namespace)
    new_signer = derive_signer(bytes.fromhex(new)).id
    assert f"changed from {derive_signer(bytes.fromhex(old)).id} to {new_signer}" in followed.stderr
    assert parse_sealed(spec_map(k8s_api, namespace, SECRETS)["B"]).kid == new_kid

    # a stale public key file is refused online, and tells which key id offline
    stale = cli("secret", "set", "C", "c", "--env", namespace, "--public-key", str(old_file))
    assert_one_line_error(stale, 1, "publishes key id", new_kid, "ironflow secret public-key")
    offline = cli.ok("secret", "seal", "C", "c", "--env", namespace, "--public-key", str(old_file))
    assert derive_sealing_key(bytes.fromhex(old)).kid in offline.stderr

    operator.set_master_key(replaced)  # replaced, not rotated: nothing vouches for the new signer
    replaced_kid = derive_sealing_key(bytes.fromhex(replaced)).kid
    eventually(lambda: _published_kid(k8s_api, namespace, replaced_kid), what="replaced key published")
    refused = cli("secret", "set", "D", "d", "--env", namespace)
    replaced_signer = derive_signer(bytes.fromhex(replaced)).id
    assert_one_line_error(refused, 1, "nothing links them", f"ironflow trust pin {replaced_signer}")
    cli.ok("trust", "pin", replaced_signer)  # after checking it with the admin
    cli.ok("secret", "set", "D", "d", "--env", namespace)
    assert parse_sealed(spec_map(k8s_api, namespace, SECRETS)["D"]).kid == replaced_kid

    def expect(signer: str) -> Run:  # what CI does: pin explicitly, no known-signers file
        return cli("secret", "seal", "E", "e", "--env", namespace, "--expect-signer", signer)

    assert expect(replaced_signer).code == 0
    assert_one_line_error(expect(new_signer), 1, "not by the expected signer")


def test_given_master_key_deleted_when_user_seals_then_refused_and_status_says_no_master_key(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    """The key-loss journey: deleting the key never turns a keyed cluster into a plaintext one."""
    key = new_key()
    _start(cli, operator, k8s_api, namespace, key)
    cli.ok("secret", "set", "A", "kept", "--env", namespace)
    wait_ready(k8s_api, "IronflowSecret", namespace, "app")

    operator.delete_master_key()
    eventually(
        lambda: (configmap_data(k8s_api, namespace, SEALING_KEY) or {}).get("mode") == "no-key",
        what="no-key published",
    )
    for args in (("secret", "set", "B", "plain-canary"), ("secret", "seal", "B", "plain-canary")):
        result = cli(*args, "--env", namespace)
        assert_one_line_error(result, 1, "NoMasterKey")
        assert "plain-canary" not in result.stdout
    assert_one_line_error(
        cli("secret", "set", "B", "plain-canary", "--dev", "--env", namespace), 1, "NoMasterKey"
    )
    wait_ready(k8s_api, "IronflowSecret", namespace, "app", reason="NoMasterKey")
    run = cli("status", "--env", namespace, "-o", "json")
    status = json.loads(run.stdout)
    assert run.code == 4, run.stderr  # NoMasterKey needs attention
    assert status["keys"][0]["mode"] == "no-key"
    assert any("NoMasterKey" in line for line in status["attention"])
    assert [r["reason"] for r in status["notReady"]] == ["NoMasterKey"]
    assert list(spec_map(k8s_api, namespace, SECRETS)) == ["A"]
