"""manifests/ installed for real, the operator running under the manifests' ServiceAccount, and a
user's first day with the CLI: master key, a secret, a config, status, promote, a declaring pod.

The operator is a local process (no kubelet here) started with the Deployment's own arguments
(so it serves every namespace, as the default install does), except for what only makes sense
in a pod: `--in-cluster` becomes a kubeconfig holding a token
of the ServiceAccount (TokenRequest, `kubectl create token`), the webhook is reached by URL on
loopback instead of through the Service, and ports are free ones. So every call it makes is
authorised by the RBAC in manifests/ and nothing else; the audit log proves none was refused.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import OPERATOR_NAMESPACE, ironflow, ok, refused_calls, start_as_deployed
from kubernetes import client
from operator_launch import OperatorProcess

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.ports import free_ports

SA_NAME = "ironflow-operator"
SA_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{SA_NAME}"
WEBHOOK_CONFIGURATION = "ironflow-pod-declarations"
REGISTRATION_ROLE = "ironflow-e2e-url-webhook-registration"
CANARY = f"canary-{uuid.uuid4().hex}-never-logged"


def _objects(installed: str) -> list[str]:
    return re.findall(
        r"^(\S+/\S+) (?:created|configured|unchanged|serverside-applied)", installed, flags=re.M
    )


def test_given_manifests_when_applied_with_kubectl_then_every_object_is_created(
    cluster: Cluster, installed: str
) -> None:
    created = _objects(installed)
    for expected in (
        "namespace/ironflow-system",
        "serviceaccount/ironflow-operator",
        "clusterrole.rbac.authorization.k8s.io/ironflow-operator",
        "clusterrole.rbac.authorization.k8s.io/ironflow-operator-environments",
        "clusterrole.rbac.authorization.k8s.io/ironflow-operator-sealing-key",
        "role.rbac.authorization.k8s.io/ironflow-operator-master-key",
        "deployment.apps/ironflow-operator",
        "service/ironflow-webhook",
        "service/ironflow-operator-metrics",
        # self-managed webhook certificate (the default): its Secret and the caBundle, by name
        "role.rbac.authorization.k8s.io/ironflow-operator-webhook-certs",
        "clusterrole.rbac.authorization.k8s.io/ironflow-operator-webhook-ca",
        f"mutatingwebhookconfiguration.admissionregistration.k8s.io/{WEBHOOK_CONFIGURATION}",
        "customresourcedefinition.apiextensions.k8s.io/ironflowsecrets.ironflow.io",
        "validatingadmissionpolicy.admissionregistration.k8s.io/ironflowconfig-names.ironflow.io",
    ):
        assert expected in created, f"{expected} not in `kubectl apply` output:\n{installed}"
    # The namespace enforces the restricted Pod Security profile; the API server warns on apply
    # when a workload's pod template would violate it.
    assert "would violate PodSecurity" not in installed, installed
    labels = json.loads(cluster.kubectl("get", "namespace", OPERATOR_NAMESPACE, "-o", "json").stdout)
    assert labels["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    deployment = json.loads(
        cluster.kubectl("get", "deployment/ironflow-operator", "-n", OPERATOR_NAMESPACE, "-o", "json").stdout
    )
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert "--in-cluster" in pod["containers"][0]["args"]


@pytest.fixture(scope="module")
def environments(k8s_api: client.ApiClient) -> Iterator[tuple[str, str]]:
    prefix = f"e2e-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(k8s_api)
    names = (f"{prefix}-staging", f"{prefix}-prod")
    for name in names:
        meta = client.V1ObjectMeta(name=name, labels={"ironflow.io/test": "true"})
        core.create_namespace(client.V1Namespace(metadata=meta))
    yield names
    for name in names:
        core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture(scope="module")
def url_webhook_registration(cluster: Cluster, installed: str) -> Iterator[None]:
    """What only the URL mode needs: the operator registers the configuration itself.

    In-cluster the chart registers it and cert-manager injects the CA, so manifests/ grant no
    write on MutatingWebhookConfigurations; this test grants exactly the dev-mode calls
    (ironflow.k8s.admission.apply_webhook_configuration: get, create, update of one name).
    """
    manifest = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {REGISTRATION_ROLE}}}
rules:
  - apiGroups: [admissionregistration.k8s.io]
    resources: [mutatingwebhookconfigurations]
    verbs: [create]
  - apiGroups: [admissionregistration.k8s.io]
    resources: [mutatingwebhookconfigurations]
    resourceNames: [{WEBHOOK_CONFIGURATION}]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {REGISTRATION_ROLE}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {REGISTRATION_ROLE}}}
subjects: [{{kind: ServiceAccount, name: {SA_NAME}, namespace: {OPERATOR_NAMESPACE}}}]
"""
    cluster.kubectl.apply_text(manifest)
    yield
    cluster.kubectl(
        "delete",
        "--ignore-not-found",
        f"clusterrolebinding/{REGISTRATION_ROLE}",
        f"clusterrole/{REGISTRATION_ROLE}",
    )
    # The operator leaves its registration in place on purpose (declaring pods fail closed).
    cluster.kubectl("delete", "--ignore-not-found", f"mutatingwebhookconfiguration/{WEBHOOK_CONFIGURATION}")


@pytest.fixture(scope="module")
def operator(
    cluster: Cluster,
    installed: str,
    environments: tuple[str, str],
    url_webhook_registration: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    workdir = tmp_path_factory.mktemp("e2e-operator")
    (webhook,) = free_ports(1)
    run = start_as_deployed(cluster, OPERATOR_NAMESPACE, workdir, webhook_url=f"https://127.0.0.1:{webhook}")
    try:
        yield run
    finally:
        run.stop()
        # Serving every namespace (the default install), it published its sealing key everywhere.
        cluster.kubectl(
            "delete", "configmap", "--all-namespaces", "--ignore-not-found",
            "--field-selector=metadata.name=ironflow-sealing-key",
            "--selector=app.kubernetes.io/managed-by=ironflow-operator",
        )  # fmt: skip


def _data(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, str] | None:
    result = cluster.kubectl("get", f"{kind}/{name}", "-n", namespace, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    return dict(json.loads(result.stdout).get("data") or {})


def _sealing_key(cluster: Cluster, namespace: str, mode: str) -> dict[str, str] | None:
    data = _data(cluster, "configmap", namespace, "ironflow-sealing-key")
    return data if data and data.get("mode") == mode else None


def _ready(cluster: Cluster, kind: str, namespace: str) -> bool:
    body = json.loads(cluster.kubectl("get", f"{kind}/app", "-n", namespace, "-o", "json").stdout)
    conditions = (body.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _pod(namespace: str, name: str, secrets: str) -> str:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {"ironflow.io/secrets": secrets, "ironflow.io/configs": "HTTP_TIMEOUT_MS"},
        },
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
    }
    return json.dumps(pod)


def _webhook_points_to(cluster: Cluster, url_prefix: str) -> bool:
    result = cluster.kubectl("get", f"mutatingwebhookconfiguration/{WEBHOOK_CONFIGURATION}", "-o", "json")
    hooks = json.loads(result.stdout)["webhooks"]
    return all(str(h["clientConfig"].get("url", "")).startswith(url_prefix) for h in hooks)


def test_given_installed_operator_when_user_follows_the_journey_then_values_flow_and_never_leak(
    cluster: Cluster, operator: OperatorProcess, environments: tuple[str, str]
) -> None:
    staging, prod = environments
    admin = cluster.kubeconfig

    # Before the master key exists the operator says NoMasterKey (never development mode unless
    # the chart's devMode asks for it), and the CLI refuses to seal.
    eventually(
        lambda: _sealing_key(cluster, staging, "no-key"), timeout=60, what="no-key sealing key ConfigMap"
    )
    refused = ironflow(admin, "secret", "set", "DB_PASSWORD", "--env", staging, "-", input=CANARY)
    assert refused.returncode == 1 and "NoMasterKey" in refused.stderr

    # The master key, created the way docs/install.md and NOTES.txt say.
    key = ok(ironflow(admin, "keygen")).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    cluster.kubectl(
        "create", "secret", "generic", "ironflow-master-key", "-n", OPERATOR_NAMESPACE,
        f"--from-literal=IRONFLOW_MASTER_KEY={key}",
    )  # fmt: skip
    published = eventually(
        lambda: _sealing_key(cluster, staging, "keyed"), timeout=60, what="keyed sealing key in staging"
    )
    assert re.fullmatch(r"[0-9a-f]{16}", published["keyId"])

    # A secret from stdin, sealed locally, projected by the operator.
    ok(ironflow(admin, "secret", "set", "DB_PASSWORD", "--env", staging, "-", input=CANARY))
    expected = base64.b64encode(CANARY.encode()).decode()
    eventually(
        lambda: (_data(cluster, "secret", staging, "app") or {}).get("DB_PASSWORD") == expected,
        timeout=60,
        what="Secret app holding DB_PASSWORD",
    )
    ok(ironflow(admin, "config", "set", "HTTP_TIMEOUT_MS", "2500", "--env", staging))
    eventually(
        lambda: (_data(cluster, "configmap", staging, "app") or {}).get("HTTP_TIMEOUT_MS") == "2500",
        timeout=60,
        what="ConfigMap app holding HTTP_TIMEOUT_MS",
    )
    eventually(lambda: _ready(cluster, "ironflowsecret", staging), timeout=60, what="IronflowSecret Ready")

    for output in ("text", "json"):
        listing = ok(ironflow(admin, "secret", "list", "--env", staging, "-o", output))
        assert "DB_PASSWORD" in listing and published["keyId"] in listing
        assert CANARY not in listing and expected not in listing

    # The installed Deployment has no running pod here, but the local stand-in operator runs with the
    # chart's identity and holds the leader Lease, so status reports it alive from the Lease; the
    # webhook Service has no endpoints, so status exits 4; the environment itself needs nothing.
    checked = ironflow(admin, "status", "--env", staging, "-o", "json")
    status = json.loads(checked.stdout)
    assert status["keys"] == [{"environment": staging, "mode": "keyed", "keyId": published["keyId"]}]
    assert status["notReady"] == [] and status["blocked"] == []
    assert checked.returncode == (4 if status["attention"] else 0), checked.stderr
    assert (status["operator"]["state"], status["operator"]["source"]) == ("alive", "leader Lease")
    assert "keyed" in ironflow(admin, "status", "--env", staging).stdout

    # Promote: the dry run writes nothing, the real run carries the config, never the secret.
    dry = json.loads(
        ok(ironflow(admin, "promote", "--from", staging, "--to", prod, "--dry-run", "-o", "json"))
    )
    assert dry["configs"]["added"] == {"HTTP_TIMEOUT_MS": 2500}
    assert dry["missingSecrets"] == ["DB_PASSWORD"]
    assert cluster.kubectl("get", "ironflowconfigs", "-n", prod, "-o", "name").stdout.strip() == ""
    assert "DB_PASSWORD" in ok(ironflow(admin, "promote", "--from", staging, "--to", prod))
    eventually(
        lambda: (_data(cluster, "configmap", prod, "app") or {}).get("HTTP_TIMEOUT_MS") == "2500",
        timeout=60,
        what="promoted ConfigMap app in prod",
    )
    assert _data(cluster, "secret", prod, "app") is None

    # A pod declaring names gets exactly them, injected by the operator's webhook (URL mode).
    eventually(lambda: _webhook_points_to(cluster, "https://127.0.0.1:"), timeout=30, what="URL registration")
    created = cluster.kubectl("create", "-o", "json", "-f", "-", input=_pod(staging, "app-0", "DB_PASSWORD"))
    env = {e["name"]: e["valueFrom"] for e in json.loads(created.stdout)["spec"]["containers"][0]["env"]}
    assert env == {
        "DB_PASSWORD": {"secretKeyRef": {"name": "app", "key": "DB_PASSWORD"}},
        "HTTP_TIMEOUT_MS": {"configMapKeyRef": {"name": "app", "key": "HTTP_TIMEOUT_MS"}},
    }
    refused = cluster.kubectl("create", "-f", "-", input=_pod(staging, "app-1", "NOT_DEFINED"), check=False)
    assert refused.returncode != 0
    assert "NOT_DEFINED" in refused.stderr and staging in refused.stderr

    # RBAC from manifests/ sufficed: the API server refused nothing the operator asked for.
    log = operator.output()
    assert cluster.audit is not None
    calls = cluster.audit.events(user=SA_USER)
    assert any(e.verb == "create" and e.resource == "secrets" for e in calls), "the operator made no Secret"
    assert not refused_calls(cluster, SA_USER), "the ServiceAccount was refused"
    assert not re.search(r'forbidden: User "[^"]+" cannot', log), "the operator logged an RBAC refusal"

    # The value never reached the operator's log, at debug level, in any form.
    assert CANARY not in log and expected not in log
