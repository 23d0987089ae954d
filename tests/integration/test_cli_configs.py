"""`ironflow config ...`, `promote` and `status` against the real API server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli, assert_one_line_error, publish_sealing_key, spec_map
from kubernetes import client

from ironflow.core.keyring import Keyring
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["cli_fixtures"]
pytestmark = pytest.mark.usefixtures("served")  # config set refuses environments no operator serves

CONFIGS = "ironflowconfigs"


@pytest.fixture
def second_namespace(k8s_api: client.ApiClient) -> Iterator[str]:
    name = f"t-promote-target-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(k8s_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name, propagation_policy="Background")


def test_given_json_values_when_config_set_then_stored_as_json_and_get_prints_projection(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    cli.ok("config", "set", "HTTP_TIMEOUT_MS", "2500", "--env", namespace)
    cli.ok("config", "set", "GREETING", "hello", "--string", "--env", namespace)
    cli.ok("config", "set", "LIMITS", '{"a": 1, "b": [true]}', "--env", namespace)
    cli.ok("config", "set", "LIMITS", '{"c": 2}', "--env", namespace)  # replaced, not merged
    assert spec_map(k8s_api, namespace, CONFIGS) == {
        "HTTP_TIMEOUT_MS": 2500,
        "GREETING": "hello",
        "LIMITS": {"c": 2},
    }

    assert cli.ok("config", "get", "HTTP_TIMEOUT_MS", "--env", namespace).stdout == "2500\n"
    assert cli.ok("config", "get", "GREETING", "--env", namespace).stdout == "hello\n"
    assert json.loads(cli.ok("config", "get", "GREETING", "--env", namespace, "-o", "json").stdout) == "hello"
    rows = json.loads(cli.ok("config", "list", "--env", namespace, "-o", "json").stdout)
    assert [(r["name"], r["value"]) for r in rows] == [
        ("GREETING", "hello"),
        ("HTTP_TIMEOUT_MS", 2500),
        ("LIMITS", {"c": 2}),
    ]


def test_given_plain_text_when_config_set_then_stored_as_string_and_json_stays_json(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    cli.ok("config", "set", "GREETING", "hello world", "--env", namespace)
    cli.ok("config", "set", "URL", "https://example.test/x?a=1", "--env", namespace)
    cli.ok("config", "set", "ON", "true", "--env", namespace)
    cli.ok("config", "set", "ON_TEXT", "true", "--string", "--env", namespace)
    assert spec_map(k8s_api, namespace, CONFIGS) == {
        "GREETING": "hello world",
        "URL": "https://example.test/x?a=1",
        "ON": True,
        "ON_TEXT": "true",
    }
    assert_one_line_error(cli("config", "set", "NOTHING", "null", "--env", namespace), 1, "null")


def test_given_config_when_unset_then_gone_and_second_unset_is_a_user_error(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    cli.ok("config", "set", "A", "1", "--env", namespace)
    cli.ok("config", "set", "B", "2", "--env", namespace)
    cli.ok("config", "unset", "A", "--env", namespace)
    assert spec_map(k8s_api, namespace, CONFIGS) == {"B": 2}
    assert_one_line_error(cli("config", "unset", "A", "--env", namespace), 1, "config A is not set")


def test_given_hand_written_resource_without_values_when_config_set_then_map_is_added(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    body = {
        "apiVersion": "ironflow.io/v1alpha1",
        "kind": "IronflowConfig",
        "metadata": {"name": "bare"},
        "spec": {},
    }
    client.CustomObjectsApi(k8s_api).create_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, CONFIGS, body
    )
    cli.ok("config", "set", "X", "[1,2]", "--env", namespace, "-r", "bare")
    assert spec_map(k8s_api, namespace, CONFIGS, "bare") == {"X": [1, 2]}


def test_given_two_environments_when_promoted_then_diff_shown_configs_copied_and_missing_secrets_listed(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, second_namespace: str, keyring: Keyring
) -> None:
    source, target = namespace, second_namespace
    publish_sealing_key(k8s_api, target, keyring=keyring)  # one operator: one signer for both
    cli.ok("config", "set", "HTTP_TIMEOUT_MS", "2500", "--env", source)
    cli.ok("config", "set", "NEW_CHECKOUT", "true", "--env", source)
    cli.ok("config", "set", "HTTP_TIMEOUT_MS", "2000", "--env", target)
    cli.ok("config", "set", "ONLY_TARGET", "1", "--env", target)
    cli.ok("secret", "set", "DB_PASSWORD", "x", "--env", source)
    cli.ok("secret", "set", "SHARED", "x", "--env", source)
    cli.ok("secret", "set", "SHARED", "y", "--env", target)

    dry = cli.ok("promote", "--from", source, "--to", target, "--dry-run")
    assert "+ NEW_CHECKOUT = true" in dry.stdout and "~ HTTP_TIMEOUT_MS: 2000 -> 2500" in dry.stdout
    assert "DB_PASSWORD" in dry.stdout and "SHARED" not in dry.stdout
    assert spec_map(k8s_api, target, CONFIGS) == {"HTTP_TIMEOUT_MS": 2000, "ONLY_TARGET": 1}

    applied = json.loads(cli.ok("promote", "--from", source, "--to", target, "-o", "json").stdout)
    assert applied["missingSecrets"] == ["DB_PASSWORD"]
    assert applied["configs"]["changed"] == {"HTTP_TIMEOUT_MS": {"from": 2000, "to": 2500}}
    assert spec_map(k8s_api, target, CONFIGS) == {
        "HTTP_TIMEOUT_MS": 2500,
        "NEW_CHECKOUT": True,
        "ONLY_TARGET": 1,
    }
    assert "DB_PASSWORD" not in spec_map(k8s_api, target, "ironflowsecrets")


def test_given_keyed_environment_when_status_then_mode_key_id_and_unready_resources(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    cli.ok("config", "set", "A", "1", "--env", namespace)
    run = cli("status", "--env", namespace, "-o", "json")
    result = json.loads(run.stdout)
    # no operator runs here: its leader Lease is missing, and a resource the operator has not
    # reported on needs attention too (exit 4)
    assert run.code == 4, run.stderr
    assert result["operator"]["state"] == "down" and result["operator"]["source"] == "leader Lease"
    assert keyring.current is not None
    assert result["keys"] == [{"environment": namespace, "mode": "keyed", "keyId": keyring.current.kid}]
    assert [(r["kind"], r["name"], r["reason"]) for r in result["notReady"]] == [
        ("IronflowConfig", "app", "NotObserved")
    ]
    human = cli("status", "--env", namespace).stdout
    assert "keyed" in human and keyring.current.kid in human and "not Ready" in human
    assert "operator: down (no operator has ever taken the leader Lease" in human


def test_given_name_in_one_resource_when_set_with_r_of_another_then_refused_and_nothing_written(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    cli.ok("config", "set", "LEVEL", "1", "--env", namespace, "-r", "base")
    assert_one_line_error(
        cli("config", "set", "LEVEL", "2", "--env", namespace, "-r", "override"),
        1,
        "LEVEL is already defined by IronflowConfig base",
        "second, conflicting definition",
    )
    assert spec_map(k8s_api, namespace, CONFIGS, "base") == {"LEVEL": 1}
    listed = client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, CONFIGS
    )
    assert [o["metadata"]["name"] for o in listed["items"]] == ["base"]


def test_given_name_in_resource_web_when_set_and_unset_without_r_then_web_is_the_one_changed(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    cli.ok("config", "set", "LEVEL", "1", "--env", namespace, "-r", "web")
    cli.ok("config", "set", "LEVEL", "2", "--env", namespace)
    cli.ok("config", "set", "NEW", "x", "--env", namespace)
    assert spec_map(k8s_api, namespace, CONFIGS, "web") == {"LEVEL": 2}
    assert spec_map(k8s_api, namespace, CONFIGS, "app") == {"NEW": "x"}
    cli.ok("config", "unset", "LEVEL", "--env", namespace)
    assert spec_map(k8s_api, namespace, CONFIGS, "web") == {}


def test_given_namespaced_user_when_status_of_all_environments_then_exit_3_with_hint(
    cli: Cli, cluster: Cluster, k8s_api: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    viewer = cluster.service_account_kubeconfig(k8s_api, namespace, "viewer", tmp_path / "v.yaml", rules=[])
    assert_one_line_error(cli("status", kubeconfig=viewer), 3, "refused", "pass --env NS")
