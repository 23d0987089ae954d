"""The Helm chart: lints, renders what the Python webhook renderer renders, and what it renders
is accepted by the real API server (server-side dry run, CRDs first)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import CHART, ROOT, clean_env

from ironflow.envtest import K8S_VERSION
from ironflow.envtest.cluster import Cluster
from ironflow.webhook.configuration import ClientTarget, WebhookParameters, render_configuration


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
    assert meta["annotations"] == {"cert-manager.io/inject-ca-from": "ironflow-system/ironflow-webhook"}
    [certificate] = [d for d in docs if d["kind"] == "Certificate"]
    assert certificate["spec"]["dnsNames"][0] == "ironflow-webhook.ironflow-system.svc"


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


def test_given_chart_when_helm_installs_then_uninstall_removes_it_and_keeps_the_crds(
    cluster: Cluster,
    helm: Path,
    crds: list[str],
    cert_manager_crds: None,
    fresh_cluster: None,
    namespace: str,
) -> None:
    kubeconfig = f"--kubeconfig={cluster.kubeconfig}"
    install = [
        "install",
        "ironflow",
        str(CHART),
        "-n",
        namespace,
        kubeconfig,
        "--set",
        f"namespaces={{{namespace}}}",
    ]
    assert "STATUS: deployed" in _helm(helm, *install).stdout
    try:
        get = cluster.kubectl("get", "deployment/ironflow-operator", "rolebinding/ironflow-operator",
                              "certificate/ironflow-webhook", "-n", namespace, "-o", "name")  # fmt: skip
        assert len(get.stdout.split()) == 3
        webhook = yaml.safe_load(
            cluster.kubectl(
                "get", "mutatingwebhookconfiguration/ironflow-pod-declarations", "-o", "yaml"
            ).stdout
        )
        assert (
            webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
            == f"{namespace}/ironflow-webhook"
        )
        assert webhook["webhooks"][0]["clientConfig"]["service"]["namespace"] == namespace
    finally:
        _helm(helm, "uninstall", "ironflow", "-n", namespace, kubeconfig, "--wait")
    gone = cluster.kubectl("get", "mutatingwebhookconfiguration/ironflow-pod-declarations", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert cluster.kubectl("get", "deployment", "-n", namespace, "-o", "name").stdout.strip() == ""
    cluster.kubectl("get", "crd/ironflowsecrets.ironflow.io", "crd/ironflowconfigs.ironflow.io")
