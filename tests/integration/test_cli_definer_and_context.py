"""The CLI finds the definer of a name, and follows kubectl for the namespace (-n, the context's)."""

from __future__ import annotations

from pathlib import Path

import yaml
from cli_support import Cli, assert_one_line_error, spec_map
from kubernetes import client

from ironflow.core.keyring import Keyring

pytest_plugins = ["cli_fixtures"]

SECRETS = "ironflowsecrets"


def _names(k8s_api: client.ApiClient, namespace: str) -> list[str]:
    listed = client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, SECRETS
    )
    return sorted(o["metadata"]["name"] for o in listed["items"])


def test_given_name_defined_by_web_when_secret_set_without_r_then_web_updated_and_no_app_created(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    cli.ok("secret", "set", "DB_PASSWORD", "one", "-n", namespace, "-r", "web")
    first = spec_map(k8s_api, namespace, SECRETS, "web")["DB_PASSWORD"]
    result = cli.ok("secret", "set", "DB_PASSWORD", "two", "--namespace", namespace)
    assert "IronflowSecret web" in result.stdout
    assert _names(k8s_api, namespace) == ["web"]
    assert spec_map(k8s_api, namespace, SECRETS, "web")["DB_PASSWORD"] != first

    assert_one_line_error(
        cli("secret", "set", "DB_PASSWORD", "three", "-n", namespace, "-r", "app"),
        1,
        "DB_PASSWORD is already defined by IronflowSecret web",
        "(-r web)",
    )
    assert _names(k8s_api, namespace) == ["web"]

    cli.ok("secret", "set", "API_TOKEN", "t", "-n", namespace)
    assert _names(k8s_api, namespace) == ["app", "web"]
    cli.ok("secret", "unset", "DB_PASSWORD", "-n", namespace)
    assert spec_map(k8s_api, namespace, SECRETS, "web") == {}
    assert_one_line_error(
        cli("secret", "unset", "DB_PASSWORD", "-n", namespace), 1, "not set in any IronflowSecret"
    )


def test_given_context_namespace_when_no_env_given_then_commands_act_on_it(
    cli: Cli, k8s_api: client.ApiClient, served: str, tmp_path: Path
) -> None:
    namespace = served
    doc = yaml.safe_load(cli.kubeconfig.read_text())
    current = doc["current-context"]
    for entry in doc["contexts"]:
        if entry["name"] == current:
            entry["context"]["namespace"] = namespace
    scoped = tmp_path / "scoped.yaml"
    scoped.write_text(yaml.safe_dump(doc))
    result = cli("config", "set", "MODE", "fast", kubeconfig=scoped)
    assert result.code == 0, result.stderr
    assert spec_map(k8s_api, namespace, "ironflowconfigs") == {"MODE": "fast"}
    listed = cli("config", "list", "-o", "yaml", kubeconfig=scoped)
    assert yaml.safe_load(listed.stdout)[0]["name"] == "MODE"
