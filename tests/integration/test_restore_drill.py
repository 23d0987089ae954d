"""The restore drill of docs/operations.md ("Backup and restore"), as a test.

Back up the master key from the session's control plane with `ironflow key backup`, start a
second, empty control plane, restore in the documented order (master-key Secret, CRDs, the
IronflowSecret manifests from their files), run an operator there, and get the same projected
values. The sealed values cross over only as the files and the backup: no plaintext is typed.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from cli_support import Cli
from kubernetes import client
from operator_fixtures import Operator, configmap_data, new_key, secret_data, wait_ready

from ironflow.core.crypto import derive_sealing_key
from ironflow_testbed import ControlPlane, Kubectl, eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["cli_fixtures", "operator_fixtures"]
CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
SECRET = "IronflowSecret"


def _manifest(namespace: str, sealed: dict[str, str]) -> str:
    body = {
        "apiVersion": "ironflow.io/v1alpha1",
        "kind": SECRET,
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {"sealed": sealed},
    }
    return yaml.safe_dump(body, width=10_000)


def test_given_a_key_backup_and_the_manifests_when_restored_into_a_new_cluster_then_the_same_values_project(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster, tmp_path: Path
) -> None:
    key = new_key()
    kid = derive_sealing_key(bytes.fromhex(key)).kid
    operator.set_master_key(key)
    operator.start()
    published = lambda api: (configmap_data(api, namespace, "ironflow-sealing-key") or {}).get("keyId")  # noqa: E731
    eventually(lambda: published(k8s_api) == kid, what="key published")
    eventually(
        lambda: configmap_data(k8s_api, operator.operator_namespace, "ironflow-signing-key") is not None,
        what="signer anchor published",
    )
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace
    values = {"DB_PASSWORD": "drill-db-password", "API_TOKEN": "drill-api-token"}
    sealed = {
        name: cli.ok("secret", "seal", name, v, "--env", namespace).stdout.strip()
        for name, v in values.items()
    }
    manifests = tmp_path / "secrets.yaml"
    manifests.write_text(_manifest(namespace, sealed))
    cluster.kubectl.apply(manifests)
    wait_ready(k8s_api, SECRET, namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == values
    backup = tmp_path / "master-key.yaml"
    cli.ok("key", "backup", "-f", str(backup))

    plane = ControlPlane(tmp_path / "second-cluster", die_with_parent=True)
    second: Operator | None = None
    try:
        plane.start()
        other = Cluster(
            plane.kubeconfig, Kubectl(plane.kubeconfig, plane.bin_dir / "kubectl"), plane.bin_dir, plane
        )
        api = other.api_client()
        core = client.CoreV1Api(api)
        for name in (operator.operator_namespace, namespace):
            core.create_namespace({"metadata": {"name": name}})
        other.kubectl.apply(backup)  # 1. the master-key Secret
        crds = sorted(CRD_DIR.glob("*.yaml"))  # 2. the CRDs
        other.kubectl.apply(*crds)
        names = other.kubectl("get", *[f"--filename={f}" for f in crds], "-o", "name").stdout.split()
        other.kubectl.wait_for(
            "condition=Established",
            *[n for n in names if n.startswith("customresourcedefinition.")],
            timeout=60,
        )
        other.kubectl.apply(manifests)  # 3. the resources, from the same files
        # An operator with the second cluster's own admin kubeconfig: nothing else lives there.
        second = Operator(
            other, api, [namespace], operator.operator_namespace, tmp_path, kubeconfig=plane.kubeconfig
        )
        second.start()
        eventually(lambda: published(api) == kid, what="the restored key published in the second cluster")
        wait_ready(api, SECRET, namespace, "app")
        assert secret_data(api, namespace, "app") == values
        api.close()
    finally:
        if second is not None:
            second.stop()
        plane.stop()
