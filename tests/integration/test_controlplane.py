"""The embedded control plane is a real cluster: real version, RBAC enforced, controllers working."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kubernetes import client
from webhook_fixtures import deployment

from ironflow_testbed import K8S_VERSION, eventually
from ironflow_testbed.cluster import Cluster


def _gone(read: object) -> bool:
    try:
        read()  # type: ignore[operator]
    except client.ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def _configmap(name: str, owner: client.V1OwnerReference | None = None) -> client.V1ConfigMap:
    meta = client.V1ObjectMeta(name=name, owner_references=[owner] if owner else None)
    return client.V1ConfigMap(metadata=meta, data={"k": "v"})


def _owner_ref(kind: str, obj: client.V1ConfigMap | client.V1Secret) -> client.V1OwnerReference:
    return client.V1OwnerReference(api_version="v1", kind=kind, name=obj.metadata.name, uid=obj.metadata.uid)


def test_given_session_control_plane_when_kubectl_version_then_server_is_pinned_release(
    cluster: Cluster,
) -> None:
    if not cluster.owned:
        pytest.skip("the pinned version is a property of the session's own control plane")
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == K8S_VERSION
    assert version["serverVersion"]["minor"] == K8S_VERSION.split(".")[1]


def test_given_control_plane_when_started_then_default_service_account_exists(
    k8s_api: client.ApiClient,
) -> None:
    account = client.CoreV1Api(k8s_api).read_namespaced_service_account("default", "default")
    assert account.metadata.name == "default"


def test_given_control_plane_when_kubectl_get_namespaces_then_system_namespaces_listed(
    cluster: Cluster,
) -> None:
    names = cluster.kubectl("get", "namespaces", "-o", "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system"} <= set(names)


def test_given_service_account_with_configmap_rights_when_reading_secrets_then_forbidden(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    config = cluster.service_account_kubeconfig(k8s_api, namespace, "limited", tmp_path / "kubeconfig", rules)
    limited = cluster.kubectl.with_kubeconfig(config)

    allowed = limited("get", "configmaps", "-n", namespace, check=False)
    denied = limited("get", "secrets", "-n", namespace, check=False)

    assert allowed.returncode == 0, allowed.stderr
    assert denied.returncode != 0
    assert "Forbidden" in denied.stderr
    assert f"system:serviceaccount:{namespace}:limited" in denied.stderr


def test_given_certificate_user_without_bindings_when_listing_namespaces_then_forbidden(
    cluster: Cluster, tmp_path: Path
) -> None:
    if not cluster.owned:
        pytest.skip("certificate users need the session's own CA")
    config = cluster.user_kubeconfig(tmp_path / "kubeconfig", "nobody", ("ironflow-testers",))
    result = cluster.kubectl.with_kubeconfig(config)("get", "namespaces", check=False)
    assert result.returncode != 0
    assert 'User "nobody" cannot list resource "namespaces"' in result.stderr


@pytest.mark.parametrize("owner_kind", ["ConfigMap", "Secret"])
def test_given_owned_configmap_when_owner_deleted_then_garbage_collected(
    k8s_api: client.ApiClient, namespace: str, owner_kind: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    if owner_kind == "ConfigMap":
        owner = core.create_namespaced_config_map(namespace, _configmap("owner"))
        delete_owner = core.delete_namespaced_config_map
    else:
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name="owner"), string_data={"k": "v"})
        owner = core.create_namespaced_secret(namespace, secret)
        delete_owner = core.delete_namespaced_secret
    core.create_namespaced_config_map(namespace, _configmap("dependent", _owner_ref(owner_kind, owner)))
    core.create_namespaced_config_map(namespace, _configmap("bystander"))

    delete_owner("owner", namespace)

    eventually(
        lambda: _gone(lambda: core.read_namespaced_config_map("dependent", namespace)),
        timeout=60,
        what="garbage collection of the dependent ConfigMap",
    )
    assert core.read_namespaced_config_map("bystander", namespace).data == {"k": "v"}


def test_given_namespace_with_objects_when_deleted_then_namespace_disappears(
    k8s_api: client.ApiClient,
) -> None:
    core = client.CoreV1Api(k8s_api)
    name = f"t-ns-delete-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    core.create_namespaced_config_map(name, _configmap("content"))

    core.delete_namespace(name)

    eventually(lambda: _gone(lambda: core.read_namespace(name)), timeout=90, what=f"namespace {name} deleted")


def test_given_deployment_when_created_then_controller_creates_replicaset(
    k8s_api: client.ApiClient, namespace: str
) -> None:
    spec = {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}
    client.AppsV1Api(k8s_api).create_namespaced_deployment(namespace, deployment("web", {}, spec=spec))

    replica_sets = eventually(
        lambda: client.AppsV1Api(k8s_api).list_namespaced_replica_set(namespace).items,
        timeout=60,
        what="a ReplicaSet from the deployment controller",
    )
    assert replica_sets[0].metadata.owner_references[0].name == "web"


def test_given_configmap_created_when_reading_audit_log_then_create_recorded_with_body(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str
) -> None:
    if cluster.audit is None:
        pytest.skip("the audit log is only readable on the session's own control plane")
    marker = uuid.uuid4().hex
    client.CoreV1Api(k8s_api).create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="audited"), data={"marker": marker})
    )

    event = cluster.audit.wait_for(verb="create", resource="configmaps", namespace=namespace, name="audited")

    assert event.status_code == 201
    assert event.user == "ironflow-envtest-admin"
    assert event.request_object is not None
    assert event.request_object["data"] == {"marker": marker}
    assert event.contains(marker)


def _listening_addresses(pid: int) -> set[str]:
    """host:port of every listening TCP socket the process holds (read from /proc, no tools needed)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                address, port = local.split(":")
                raw = bytes.fromhex(address)
                host = ".".join(str(b) for b in reversed(raw)) if width == 8 else raw.hex()
                found.add(f"{host}:{int(port, 16)}")
    return found


def test_given_session_control_plane_when_inspecting_sockets_then_every_listener_is_loopback(
    cluster: Cluster,
) -> None:
    if cluster.plane is None:
        pytest.skip("only the session's own processes can be inspected")
    listeners = {r.name: _listening_addresses(r.pid) for r in cluster.plane.records}
    assert all(listeners.values()), f"every component listens somewhere: {listeners}"
    for name, addresses in listeners.items():
        assert all(a.startswith("127.0.0.1:") for a in addresses), (
            f"{name} listens beyond loopback: {addresses}"
        )
