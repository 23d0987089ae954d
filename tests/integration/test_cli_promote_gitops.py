"""`ironflow promote` for GitOps: --only/--exclude, --to-dir, and a missing report that hides no gap."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_support import Cli, publish_sealing_key, spec_map
from kubernetes import client
from webhook_fixtures import deployment

from ironflow.core.keyring import Keyring

pytest_plugins = ["cli_fixtures"]


@pytest.fixture
def chain(k8s_api: client.ApiClient, namespace: str, keyring: Keyring) -> Iterator[tuple[str, str, str]]:
    """dev (the test's namespace), staging and prod, each with the sealing key one operator publishes."""
    core = client.CoreV1Api(k8s_api)
    made = [f"t-{stage}-{uuid.uuid4().hex[:8]}" for stage in ("staging", "prod")]
    for name in made:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        publish_sealing_key(k8s_api, name, keyring=keyring)
    yield namespace, made[0], made[1]
    for name in made:
        core.delete_namespace(name, propagation_policy="Background")


def _deployment(k8s_api: client.ApiClient, namespace: str, annotations: dict[str, str]) -> None:
    spec = {"containers": [{"name": "app", "image": "registry.invalid/web:1"}]}
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        namespace, deployment("web", annotations, spec=spec, replicas=0)
    )


def test_given_secret_missing_in_staging_and_prod_when_chain_promoted_then_prod_step_still_reports_it(
    cli: Cli, k8s_api: client.ApiClient, chain: tuple[str, str, str], keyring: Keyring
) -> None:
    dev, staging, prod = chain
    cli.ok("secret", "set", "DB_PASSWORD", "d", "-n", dev)
    cli.ok("secret", "set", "STRIPE_KEY", "d", "-n", dev)
    cli.ok("secret", "set", "STRIPE_KEY", "s", "-n", staging)
    cli.ok("config", "set", "HTTP_TIMEOUT_MS", "2500", "-n", dev)
    _deployment(
        k8s_api,
        prod,
        {
            "ironflow.io/secrets": "DB_PASSWORD, STRIPE_KEY, SLACK?",
            "ironflow.io/configs": "HTTP_TIMEOUT_MS, MODE",
        },
    )

    first = json.loads(cli.ok("promote", "--from", dev, "--to", staging, "-o", "json").stdout)
    assert first["missingSecrets"] == ["DB_PASSWORD"]
    second = json.loads(cli.ok("promote", "--from", staging, "--to", prod, "-o", "json").stdout)
    by_name = {(m["kind"], m["name"]): m["neededBy"] for m in second["missing"]}
    assert by_name == {
        ("secret", "DB_PASSWORD"): ["declared by Deployment web"],
        ("secret", "STRIPE_KEY"): [f"defined in {staging}", "declared by Deployment web"],
        ("config", "MODE"): ["declared by Deployment web"],
    }
    human = cli.ok("promote", "--from", staging, "--to", prod, "--dry-run").stdout
    assert "secret DB_PASSWORD: declared by Deployment web" in human
    assert spec_map(k8s_api, prod, "ironflowconfigs") == {"HTTP_TIMEOUT_MS": 2500}


def test_given_only_and_exclude_when_promoted_then_just_those_names_copied(
    cli: Cli, k8s_api: client.ApiClient, chain: tuple[str, str, str], keyring: Keyring
) -> None:
    dev, staging, prod = chain
    for name, value in (("A", "1"), ("B", "2"), ("C", "3")):
        cli.ok("config", "set", name, value, "-n", dev)
    cli.ok("promote", "--from", dev, "--to", staging, "--only", "A", "--only", "B")
    assert spec_map(k8s_api, staging, "ironflowconfigs") == {"A": 1, "B": 2}
    cli.ok("promote", "--from", dev, "--to", prod, "--exclude", "B")
    assert spec_map(k8s_api, prod, "ironflowconfigs") == {"A": 1, "C": 3}


def test_given_to_dir_when_promoted_then_manifests_in_dir_updated_and_cluster_untouched(
    cli: Cli, k8s_api: client.ApiClient, chain: tuple[str, str, str], keyring: Keyring, tmp_path: Path
) -> None:
    dev, _, prod = chain
    cli.ok("config", "set", "HTTP_TIMEOUT_MS", "2500", "-n", dev)
    cli.ok("config", "set", "FEATURE", "true", "-n", dev, "-r", "flags")
    overlay = tmp_path / "overlays" / "prod"
    overlay.mkdir(parents=True)
    existing = {
        "apiVersion": "ironflow.io/v1alpha1",
        "kind": "IronflowConfig",
        "metadata": {"name": "app"},
        "spec": {"values": {"HTTP_TIMEOUT_MS": 4000, "PROD_ONLY": "x"}},
    }
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated"}, "data": {"k": "v"}}
    (overlay / "configs.yaml").write_text(yaml.safe_dump_all([existing, other]))

    result = json.loads(
        cli.ok("promote", "--from", dev, "--to", prod, "--to-dir", str(overlay), "-o", "json").stdout
    )
    assert result["configs"]["changed"] == {"HTTP_TIMEOUT_MS": {"from": 4000, "to": 2500}}
    assert sorted(Path(p).name for p in result["written"]) == ["configs.yaml", "ironflowconfig-flags.yaml"]
    docs = list(yaml.safe_load_all((overlay / "configs.yaml").read_text()))
    assert docs[0]["spec"]["values"] == {"HTTP_TIMEOUT_MS": 2500, "PROD_ONLY": "x"}
    assert docs[1] == other
    flags = yaml.safe_load((overlay / "ironflowconfig-flags.yaml").read_text())
    assert flags["metadata"] == {"name": "flags", "namespace": prod} and flags["spec"]["values"] == {
        "FEATURE": True
    }
    listed = client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
        "ironflow.io", "v1alpha1", prod, "ironflowconfigs"
    )
    assert listed["items"] == []


def test_given_target_namespace_absent_when_promoted_to_dir_then_written_and_git_secrets_count(
    cli: Cli, namespace: str, keyring: Keyring, tmp_path: Path
) -> None:
    cli.ok("config", "set", "A", "1", "-n", namespace)
    cli.ok("secret", "set", "IN_GIT", "x", "-n", namespace)
    cli.ok("secret", "set", "NOWHERE", "x", "-n", namespace)
    sealed_in_git = {
        "apiVersion": "ironflow.io/v1alpha1",
        "kind": "IronflowSecret",
        "metadata": {"name": "app"},
        "spec": {"sealed": {"IN_GIT": "ifs:v1:0123456789abcdef:" + "A" * 90}},
    }
    (tmp_path / "sealed-secrets.yaml").write_text(yaml.safe_dump(sealed_in_git))
    out = cli.ok(
        "promote", "--from", namespace, "--to", "not-created-yet", "--to-dir", str(tmp_path), "-o", "json"
    )
    assert json.loads(out.stdout)["missingSecrets"] == ["NOWHERE"]
    doc = yaml.safe_load((tmp_path / "ironflowconfig-app.yaml").read_text())
    assert doc["metadata"]["namespace"] == "not-created-yet" and doc["spec"]["values"] == {"A": 1}


def test_given_workloads_only_in_target_dir_when_promoted_to_dir_then_names_they_declare_reported(
    cli: Cli, k8s_api: client.ApiClient, chain: tuple[str, str, str], tmp_path: Path
) -> None:
    dev, _, prod = chain
    cli.ok("config", "set", "A", "1", "-n", dev)
    _deployment(k8s_api, prod, {"ironflow.io/secrets": "IN_CLUSTER"})
    overlay = tmp_path / "overlays" / "prod"
    overlay.mkdir(parents=True)
    declares = {"ironflow.io/secrets": "DB_PASSWORD, SLACK?", "ironflow.io/configs": "MODE, A"}
    spec = {"containers": [{"name": "app", "image": "registry.invalid/web:1"}]}
    workloads = [
        deployment("api", declares, spec=spec),
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": prod},
         "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {
             "metadata": {"annotations": {"ironflow.io/secrets": "REPORT_TOKEN"}}}}}}},
    ]
    (overlay / "workloads.yaml").write_text(yaml.safe_dump_all(workloads))

    args = ("promote", "--from", dev, "--to", prod, "--to-dir", str(overlay), "--dry-run")
    result = json.loads(cli.ok(*args, "-o", "json").stdout)

    by_name = {(m["kind"], m["name"]): m["neededBy"] for m in result["missing"]}
    assert by_name == {
        ("secret", "DB_PASSWORD"): ["declared by Deployment api (workloads.yaml)"],
        ("config", "MODE"): ["declared by Deployment api (workloads.yaml)"],
        ("secret", "REPORT_TOKEN"): ["declared by CronJob report (workloads.yaml)"],
        ("secret", "IN_CLUSTER"): ["declared by Deployment web"],
    }
    human = cli.ok(*args).stdout
    assert "secret DB_PASSWORD: declared by Deployment api (workloads.yaml)" in human
