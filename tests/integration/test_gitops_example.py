"""examples/gitops as shipped: `kubectl apply -k` of each overlay, then what each environment gets.

The overlays hold values sealed for the TEST-ONLY example key (hack/gen-gitops-example.py), so
the operator here runs with that key. Each environment must get its own values, typed Secrets
must come out typed, and a sealed value copied from dev into prod must be refused in prod's
status while prod keeps what it had.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from kubernetes import client
from operator_fixtures import (
    Operator,
    configmap_data,
    get_cr,
    new_key,
    ready,
    secret_data,
    wait_ready,
    wait_status,
)

from ironflow.core.model import config_string
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "gitops"
ENVIRONMENTS = ("dev", "staging", "prod")
SECRET = "IronflowSecret"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_gitops_example", REPO / "hack" / "gen-gitops-example.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@pytest.fixture
def environments(k8s_api: client.ApiClient) -> Iterator[tuple[str, ...]]:
    """The example's namespaces are fixed (sealed values are bound to them): removed afterwards."""
    core = client.CoreV1Api(k8s_api)
    existing = {ns.metadata.name for ns in core.list_namespace().items}
    assert not existing & set(ENVIRONMENTS), "the example's namespaces exist already in this cluster"
    yield ENVIRONMENTS
    for env in ENVIRONMENTS:
        try:
            core.delete_namespace(env, propagation_policy="Background")
        except client.ApiException as error:
            if error.status != 404:
                raise
    # gone before the next test of this module needs the same fixed names
    eventually(lambda: not {ns.metadata.name for ns in core.list_namespace().items} & set(ENVIRONMENTS),
               timeout=120, what="the example's namespaces deleted")


def _apply(cluster: Cluster, overlay: Path) -> None:
    result = cluster.kubectl("apply", "-k", str(overlay), check=False)
    assert result.returncode == 0, result.stderr


def _expected_configs(env: str) -> dict[str, str]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLE / "overlays" / env / "configs.yaml").read_text())
    return {k: config_string(v) for k, v in doc["spec"]["values"].items()}


def test_given_example_overlays_when_applied_with_kustomize_then_each_environment_gets_its_own_values(
    cluster: Cluster,
    operator: Operator,
    k8s_api: client.ApiClient,
    environments: tuple[str, ...],
    tmp_path: Path,
) -> None:
    operator.set_master_key((EXAMPLE / "TEST-ONLY-master-key.txt").read_text().strip())
    operator.namespaces[:] = list(environments)
    for env in environments:
        _apply(cluster, EXAMPLE / "overlays" / env)
    operator.start()

    for env in environments:
        for name in ("app", "web-tls", "regcred"):
            wait_ready(k8s_api, SECRET, env, name, timeout=60)
        wait_ready(k8s_api, "IronflowConfig", env, "app", timeout=60)
        assert secret_data(k8s_api, env, "app") == GEN.plaintext(env)
        assert configmap_data(k8s_api, env, "app") == _expected_configs(env)

        tls = client.CoreV1Api(k8s_api).read_namespaced_secret("web-tls", env)
        assert tls.type == "kubernetes.io/tls"
        data = secret_data(k8s_api, env, "web-tls")
        assert data is not None
        cert = x509.load_pem_x509_certificate(data["tls.crt"].encode())
        key = serialization.load_pem_private_key(data["tls.key"].encode(), None)
        assert cert.public_key() == key.public_key()
        assert cert.subject.rfc4514_string() == f"CN={env}.web.example.test"

        pull = client.CoreV1Api(k8s_api).read_namespaced_secret("regcred", env)
        assert pull.type == "kubernetes.io/dockerconfigjson"
        pulled = secret_data(k8s_api, env, "regcred")
        assert pulled is not None and yaml.safe_load(pulled[".dockerconfigjson"]) == GEN.registry_auth(env)
        ingress = client.NetworkingV1Api(k8s_api).read_namespaced_ingress("web", env)
        assert ingress.spec.tls[0].secret_name == "web-tls"

    # A value copied from the dev overlay into prod's, then applied the GitOps way: refused in
    # prod's status (bound to dev), and prod keeps the value it had.
    copy = tmp_path / "gitops"
    shutil.copytree(EXAMPLE, copy)
    docs = list(yaml.safe_load_all((copy / "overlays" / "dev" / "sealed-secrets.yaml").read_text()))
    dev_value = docs[0]["spec"]["sealed"]["DB_PASSWORD"]
    prod_file = copy / "overlays" / "prod" / "sealed-secrets.yaml"
    prod_docs = list(yaml.safe_load_all(prod_file.read_text()))
    prod_docs[0]["spec"]["sealed"]["DB_PASSWORD"] = dev_value
    prod_file.write_text(yaml.safe_dump_all(prod_docs))
    _apply(cluster, copy / "overlays" / "prod")
    cr = wait_status(
        k8s_api,
        SECRET,
        "prod",
        "app",
        lambda c: ready(c).get("status") == "False",
        "Ready=False after the copied value",
        timeout=60,
    )
    condition = ready(cr)
    fact = cr["status"]["names"]["DB_PASSWORD"]
    assert condition["reason"] == "UnsealFailed", condition
    assert "DB_PASSWORD" in condition["message"]
    assert fact["state"] == "Failed", fact
    assert "failed authentication" in str(condition) or fact.get("reason") == "AuthenticationFailed", (
        condition,
        fact,
    )
    assert secret_data(k8s_api, "prod", "app") == GEN.plaintext("prod")
    assert get_cr(k8s_api, SECRET, "prod", "app")["spec"]["sealed"]["DB_PASSWORD"] == dev_value


def _run_it_commands() -> list[str]:
    """The commands of the README's "Run it" block, continuation lines joined."""
    readme = (EXAMPLE / "README.md").read_text()
    section = readme.split("## Run it", 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None
    commands: list[str] = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
    return commands


def test_given_make_run_state_when_readme_run_it_followed_then_every_command_succeeds_and_dev_projects(
    cluster: Cluster,
    operator: Operator,
    k8s_api: client.ApiClient,
    environments: tuple[str, ...],
    tmp_path: Path,
) -> None:
    # what `make run` leaves: the operator namespace and a random development key, operator running
    operator.set_master_key(new_key())
    operator.namespaces[:] = list(environments)
    operator.start()
    kubectl = cluster.kubectl.executable
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "HOME": str(tmp_path),
           "PATH": f"{kubectl.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("KUBERNETES_SERVICE_HOST", None)

    commands = _run_it_commands()
    assert any("ironflow-master-key" in c for c in commands) and any("apply -k" in c for c in commands)
    for command in commands:
        command = command.replace("ironflow-system", operator.operator_namespace)
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, (command, done.stderr)

    wait_ready(k8s_api, SECRET, "dev", "app", timeout=60)
    assert secret_data(k8s_api, "dev", "app") == GEN.plaintext("dev")
