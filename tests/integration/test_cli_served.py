"""Mistakes that used to pass silently: an environment no operator serves, a misspelt name or
environment. Against the real API server, run as the program a user types."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from cli_support import Cli, assert_one_line_error, spec_map
from kubernetes import client

from ironflow.core.keyring import Keyring

pytest_plugins = ["cli_fixtures"]
CONFIGS, SECRETS = "ironflowconfigs", "ironflowsecrets"


@pytest.fixture
def unserved(k8s_api: client.ApiClient) -> Iterator[str]:
    """A namespace that exists but that no operator serves: no sealing-key ConfigMap in it."""
    name = f"t-unserved-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(k8s_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name, propagation_policy="Background")


def _configs(api: client.ApiClient, namespace: str) -> list[object]:
    listed = client.CustomObjectsApi(api).list_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, CONFIGS
    )
    return list(listed["items"])


def test_given_unserved_environment_when_config_set_then_refused_with_fix_and_nothing_written(
    cli: Cli, k8s_api: client.ApiClient, unserved: str
) -> None:
    result = cli("config", "set", "MODE", "fast", "--env", unserved)
    assert_one_line_error(
        result, 1, f"environment {unserved} is not served by the Ironflow operator", "--allow-unserved"
    )
    assert _configs(k8s_api, unserved) == []

    cli.ok("config", "set", "MODE", "fast", "--env", unserved, "--allow-unserved")
    assert spec_map(k8s_api, unserved, CONFIGS) == {"MODE": "fast"}


def test_given_served_environment_and_a_misspelt_copy_when_set_there_then_did_you_mean_the_served_one(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    core = client.CoreV1Api(k8s_api)
    typo = f"{namespace[:-1]}x"  # exists, same length, one letter off, not served
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=typo)))
    try:
        refused = cli("config", "set", "MODE", "fast", "--env", typo)
        assert_one_line_error(refused, 1, "is not served", f"did you mean {namespace}")
        refused = cli("secret", "set", "DB_PASSWORD", "x", "--env", typo)
        assert_one_line_error(refused, 1, "no sealing key published", f"did you mean {namespace}")
    finally:
        core.delete_namespace(typo, propagation_policy="Background")
    missing = cli("config", "set", "MODE", "fast", "--env", f"{namespace}s")
    assert_one_line_error(missing, 1, f"unknown environment {namespace}s", f"did you mean {namespace}")


def test_given_misspelt_name_when_get_or_unset_then_did_you_mean_the_defined_name(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    cli.ok("config", "set", "MAX_RETRIES", "3", "--env", namespace)
    cli.ok("secret", "set", "DB_PASSWORD", "x", "--env", namespace)
    for args in (["config", "get", "MAX_RETRYS"], ["config", "unset", "MAX_RETRYS"]):
        result = cli(*args, "--env", namespace)
        assert_one_line_error(result, 1, "config MAX_RETRYS is not set", "did you mean MAX_RETRIES?")
    result = cli("config", "get", "MAX_RETRYS", "--env", namespace, "-r", "app")
    assert_one_line_error(result, 1, "did you mean MAX_RETRIES?")
    result = cli("secret", "unset", "DB_PASSWROD", "--env", namespace)
    assert_one_line_error(result, 1, "secret DB_PASSWROD is not set", "did you mean DB_PASSWORD?")
    result = cli("config", "get", "ZZZ", "--env", namespace)
    assert_one_line_error(result, 1, "config ZZZ is not set")
    assert "did you mean" not in result.stderr
    assert spec_map(k8s_api, namespace, CONFIGS) == {"MAX_RETRIES": 3}
