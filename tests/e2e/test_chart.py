"""The Helm chart: lints, renders what the Python webhook renderer renders, and what it renders
is accepted by the real API server (server-side dry run, CRDs first)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import CHART, ROOT, clean_env, refused_calls, start_as_deployed
from kubernetes import client

from ironflow.webhook.configuration import ClientTarget, WebhookParameters, render_configuration
from ironflow_testbed import K8S_VERSION, eventually
from ironflow_testbed.cluster import Cluster


def _helm(helm: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=60, env=clean_env(), check=False
    )
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def _template(helm: Path, namespace: str, *values: str, crds: bool = False) -> list[dict[str, Any]]:
    args = ["template", "ironflow", str(CHART), "--namespace", namespace, "--kube-version", K8S_VERSION]
    args += ["--include-crds"] if crds else []
    for value in values:
        args += ["--set", value]
    return [doc for doc in yaml.safe_load_all(_helm(helm, *args).stdout) if doc]


def test_given_chart_when_linted_strictly_then_helm_lint_passes(helm: Path) -> None:
    result = _helm(helm, "lint", str(CHART), "--strict")
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_given_default_values_when_templated_then_webhook_equals_python_renderer(helm: Path) -> None:
    docs = _template(helm, "ironflow-system")
    [rendered] = [d for d in docs if d["kind"] == "MutatingWebhookConfiguration"]
    expected = render_configuration(
        WebhookParameters(
            target=ClientTarget(service_namespace="ironflow-system", service_name="ironflow-webhook"),
            operator_namespace="ironflow-system",
        )
    )
    meta = rendered.pop("metadata")
    expected_meta = expected.pop("metadata")
    assert rendered == expected
    assert meta["name"] == expected_meta["name"]
    assert expected_meta["labels"].items() <= meta["labels"].items()
    assert "annotations" not in meta  # self-managed: the operator sets caBundle, no cainjector
    assert all("caBundle" not in hook["clientConfig"] for hook in rendered["webhooks"])
    assert not [d for d in docs if d["kind"] in ("Certificate", "Issuer")]
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--webhook-cert-secret=ironflow-webhook-tls" in args
    assert "--webhook-san=ironflow-webhook.ironflow-system.svc" in args
    [volume] = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "webhook-tls"]
    assert "emptyDir" in volume and "secret" not in volume  # the CA key never reaches a volume


def test_given_cert_manager_enabled_when_templated_then_certificate_and_ca_injection(helm: Path) -> None:
    docs = _template(helm, "ironflow-system", "webhook.certManager.enabled=true")
    [rendered] = [d for d in docs if d["kind"] == "MutatingWebhookConfiguration"]
    annotations = rendered["metadata"]["annotations"]
    assert annotations == {"cert-manager.io/inject-ca-from": "ironflow-system/ironflow-webhook"}
    [certificate] = [d for d in docs if d["kind"] == "Certificate"]
    assert certificate["spec"]["dnsNames"][0] == "ironflow-webhook.ironflow-system.svc"
    assert not [d for d in _rbac(docs) if d[2].endswith(("-webhook-certs", "-webhook-ca"))]


def test_given_provided_ca_when_templated_then_webhook_equals_renderer_with_that_ca(helm: Path) -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    docs = _template(
        helm, "ops", "webhook.certManager.enabled=false", f"webhook.caBundle={base64.b64encode(ca).decode()}"
    )
    [rendered] = [d for d in docs if d["kind"] == "MutatingWebhookConfiguration"]
    expected = render_configuration(
        WebhookParameters(
            target=ClientTarget(service_namespace="ops", service_name="ironflow-webhook"),
            operator_namespace="ops",
            ca_bundle=ca,
        )
    )
    assert rendered["webhooks"] == expected["webhooks"]
    assert "annotations" not in rendered["metadata"]
    assert not [d for d in docs if d["kind"] in ("Certificate", "Issuer")]


def test_given_weakened_failure_policy_when_templated_then_chart_refuses(helm: Path) -> None:
    values = ["--set", "webhook.failurePolicy=Ignore"]
    result = _helm(helm, "template", "x", str(CHART), "--kube-version", K8S_VERSION, *values, check=False)
    assert result.returncode != 0
    assert "failurePolicy is fixed to Fail" in result.stderr


MTLS_AND_POLICY = [
    "networkPolicy.enabled=true",
    "networkPolicy.apiServerPeers[0].ipBlock.cidr=10.0.0.10/32",
    "webhook.clientAuth.caConfigMap=apiserver-webhook-client-ca",
    "webhook.clientAuth.names[0]=kube-apiserver-webhook-client",
]


def test_given_network_policy_without_api_server_peers_when_templated_then_chart_refuses(helm: Path) -> None:
    values = ["--set", "networkPolicy.enabled=true"]
    result = _helm(helm, "template", "x", str(CHART), "--kube-version", K8S_VERSION, *values, check=False)
    assert result.returncode != 0
    assert "networkPolicy.enabled needs networkPolicy.apiServerPeers" in result.stderr


def test_given_client_auth_and_network_policy_when_templated_then_webhook_port_only_from_api_server(
    helm: Path,
) -> None:
    docs = _template(helm, "ops", *MTLS_AND_POLICY)
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy")
    webhook_rule = next(r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 9443)
    assert webhook_rule["from"] == [{"ipBlock": {"cidr": "10.0.0.10/32"}}]
    assert all("from" not in r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] != 9443)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--webhook-client-ca=/etc/ironflow/webhook-client-ca/ca.crt" in container["args"]
    assert "--webhook-client-name=kube-apiserver-webhook-client" in container["args"]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "apiserver-webhook-client-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]} in [
        v.get("configMap") for v in volumes
    ]
    assert not [d for d in _template(helm, "ops") if d["kind"] == "NetworkPolicy"]  # off by default


def test_given_chart_when_rendered_with_defaults_then_manifests_dir_is_identical(helm: Path) -> None:
    result = subprocess.run(
        [str(ROOT / "hack" / "check-crd-copies.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env({"HELM": str(helm), "PYTHON": sys.executable}),
        check=False,
    )
    assert result.returncode == 0, f"manifests/ or CRD copies are stale:\n{result.stdout}\n{result.stderr}"


def _dry_run(cluster: Cluster, docs: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    text = yaml.safe_dump_all(docs, sort_keys=False)
    return cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=text, check=False, timeout=120)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([], id="defaults"),
        pytest.param(
            ["webhook.certManager.enabled=false", "webhook.caBundle=QUJD", "logging.format=text"],
            id="provided-certs",
        ),
        pytest.param(MTLS_AND_POLICY, id="mtls-and-network-policy"),
        pytest.param(["webhook.certManager.enabled=true"], id="cert-manager"),
    ],
)
def test_given_helm_template_when_applied_with_server_dry_run_then_api_server_accepts_all(
    cluster: Cluster,
    helm: Path,
    crds: list[str],
    cert_manager_crds: None,
    fresh_cluster: None,
    namespace: str,
    values: list[str],
) -> None:
    # The fixture's namespace is both the release namespace and the one environment served, so
    # the per-namespace RoleBinding variant is rendered too.
    docs = _template(helm, namespace, f"namespaces={{{namespace}}}", *values, crds=True)
    definitions = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    assert {d["metadata"]["name"] for d in definitions} == {
        "ironflowsecrets.ironflow.io",
        "ironflowconfigs.ironflow.io",
    }
    first = _dry_run(cluster, definitions)
    assert first.returncode == 0, first.stderr
    rest = [d for d in docs if d["kind"] != "CustomResourceDefinition"]
    result = _dry_run(cluster, rest)
    assert result.returncode == 0, f"server dry run refused the chart:\n{result.stderr}"
    kinds = {d["kind"] for d in rest}
    assert {"Deployment", "ServiceAccount", "ClusterRole", "RoleBinding", "Service"} <= kinds
    assert "MutatingWebhookConfiguration" in kinds
    assert result.stdout.count("(server dry run)") == len(rest)


def _rbac(docs: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d for d in docs
            if d["kind"] in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")}


def _writes(rule: dict[str, Any]) -> bool:
    return bool({"create", "patch", "update", "delete", "*"} & set(rule["verbs"]))


def _webhook_certificate_rbac(rbac: dict[tuple[str, str, str], dict[str, Any]]) -> None:
    """Self-managed certificates: the only writes outside environments, each on one named object."""
    ca = rbac.pop(("ClusterRole", "", "ironflow-operator-webhook-ca"))
    assert ca["rules"] == [{"apiGroups": ["admissionregistration.k8s.io"],
                            "resources": ["mutatingwebhookconfigurations"],
                            "resourceNames": ["ironflow-pod-declarations"],
                            "verbs": ["get", "patch"]}]  # fmt: skip
    certs = rbac.pop(("Role", "ironflow-system", "ironflow-operator-webhook-certs"))
    named = [rule for rule in certs["rules"] if rule.get("resourceNames")]
    assert named == [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["ironflow-webhook-tls"],
                      "verbs": ["get", "patch"]}]  # fmt: skip
    assert [r["verbs"] for r in certs["rules"] if not r.get("resourceNames")] == [["create"]]


def _sealing_key_rbac(rbac: dict[tuple[str, str, str], dict[str, Any]]) -> None:
    """Withdrawing the sealing key from namespaces no longer served: one named ConfigMap, anywhere."""
    withdraw = rbac.pop(("ClusterRole", "", "ironflow-operator-sealing-key"))
    assert withdraw["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                                  "resourceNames": ["ironflow-sealing-key"], "verbs": ["list", "delete"]}]


def test_given_named_namespaces_when_templated_then_writes_granted_only_there_by_roles(helm: Path) -> None:
    rbac = _rbac(_template(helm, "ironflow-system", "namespaces={team-a,team-b}"))
    _webhook_certificate_rbac(rbac)
    _sealing_key_rbac(rbac)
    cluster_wide = [d for (kind, _, _), d in rbac.items() if kind == "ClusterRole"]
    assert [rule for role in cluster_wide for rule in role["rules"] if _writes(rule)] == []
    assert not any(kind == "ClusterRoleBinding" and name.endswith("environments") for kind, _, name in rbac)
    writers = {ns for (kind, ns, _), role in rbac.items()
               if kind == "Role" and any(_writes(rule) for rule in role["rules"])}  # fmt: skip
    assert writers == {"team-a", "team-b", "ironflow-system"}
    # In its own namespace the operator writes only its Lease and the signer anchor ConfigMap.
    own = [rule for (kind, ns, _), role in rbac.items() if kind == "Role" and ns == "ironflow-system"
           for rule in role["rules"] if _writes(rule)]  # fmt: skip
    assert {resource for rule in own for resource in rule["resources"]} <= {"leases", "configmaps"}
    for ns in ("team-a", "team-b"):
        binding = rbac[("RoleBinding", ns, "ironflow-operator")]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": "ironflow-operator-environment"}  # fmt: skip


def test_given_all_namespaces_or_globs_when_templated_then_environment_rules_are_cluster_wide(
        helm: Path) -> None:
    for values in ((), ("namespaces={team-*}",)):
        rbac = _rbac(_template(helm, "ironflow-system", *values))
        assert ("ClusterRoleBinding", "", "ironflow-operator-environments") in rbac
        assert not any(kind == "Role" and name == "ironflow-operator-environment" for kind, _, name in rbac)


def test_given_chart_serving_one_namespace_when_installed_then_operator_works_on_namespaced_rbac_alone(
    cluster: Cluster,
    helm: Path,
    k8s_api: client.ApiClient,
    crds: list[str],
    cert_manager_crds: None,
    fresh_cluster: None,
    namespace: str,
    tmp_path: Path,
) -> None:
    """helm install with `namespaces: [one]`, the operator under the chart's ServiceAccount: the
    per-namespace RoleBinding and the master-key Role suffice; nothing is granted elsewhere."""
    served = f"e2e-served-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(k8s_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=served)))
    user = f"system:serviceaccount:{namespace}:ironflow-operator"
    kubeconfig = f"--kubeconfig={cluster.kubeconfig}"
    install = [
        "install",
        "ironflow",
        str(CHART),
        "-n",
        namespace,
        kubeconfig,
        "--set",
        f"namespaces={{{served}}}",
        "--set",
        "devMode=true",  # development mode is explicit: the chart's value is what turns it on
    ]
    installed = _helm(helm, *install).stdout
    assert "STATUS: deployed" in installed
    # NOTES.txt tells the user how to make the master key, for this release's namespace.
    assert f"kubectl create secret generic ironflow-master-key -n {namespace}" in installed
    assert 'IRONFLOW_MASTER_KEY="$(ironflow keygen)"' in installed
    try:
        cluster.kubectl("get", "rolebinding/ironflow-operator", "-n", served)
        webhook = json.loads(
            cluster.kubectl(
                "get", "mutatingwebhookconfiguration/ironflow-pod-declarations", "-o", "json"
            ).stdout
        )
        assert "cert-manager.io/inject-ca-from" not in (webhook["metadata"].get("annotations") or {})
        can_i = cluster.kubectl(
            "auth", "can-i", "list", "secrets", "-n", "default", f"--as={user}", check=False
        )
        assert can_i.stdout.strip() == "no", "environment rights granted outside the served namespace"
        # A real write into kube-system as the ServiceAccount: refused by the API server's RBAC.
        write = cluster.kubectl("create", "secret", "generic", "ironflow-probe", "-n", "kube-system",
                                "--from-literal=K=v", f"--as={user}", check=False)  # fmt: skip
        assert write.returncode != 0 and "forbidden" in write.stderr, write.stdout
        for verb, resource in (("patch", "deployments.apps"), ("create", "configmaps"), ("patch", "secrets")):
            can = cluster.kubectl("auth", "can-i", verb, resource, "-n", "kube-system", f"--as={user}",
                                  check=False)  # fmt: skip
            assert can.stdout.strip() == "no", f"{verb} {resource} in kube-system granted"

        args = json.loads(
            cluster.kubectl("get", "deployment/ironflow-operator", "-n", namespace, "-o", "json").stdout
        )["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--dev-mode" in args, args
        run = start_as_deployed(cluster, namespace, tmp_path)  # devMode=true and no master key: dev mode
        try:
            cluster.kubectl.apply_text(_DEV_SECRET, namespace=served)
            eventually(
                lambda: cluster.kubectl("get", "secret/app", "-n", served, "-o", "jsonpath={.data.TOKEN}",
                                        check=False).stdout == base64.b64encode(b"dev-value").decode(),
                timeout=60,
                what="Secret app projected in the served namespace",
            )  # fmt: skip
        finally:
            run.stop()
        assert not refused_calls(cluster, user), "the chart's ServiceAccount was refused"
        assert "dev-value" not in run.output()
    finally:
        _helm(helm, "uninstall", "ironflow", "-n", namespace, kubeconfig, "--wait")
        core.delete_namespace(served, propagation_policy="Background")
    gone = cluster.kubectl("get", "mutatingwebhookconfiguration/ironflow-pod-declarations", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert cluster.kubectl("get", "deployment", "-n", namespace, "-o", "name").stdout.strip() == ""
    cluster.kubectl("get", "crd/ironflowsecrets.ironflow.io", "crd/ironflowconfigs.ironflow.io")


_DEV_SECRET = """
apiVersion: ironflow.io/v1alpha1
kind: IronflowSecret
metadata: {name: app}
spec:
  sealed:
    TOKEN: "dev:dev-value"
"""
