"""The chart installs the IronflowConfig value policy only where the API server accepts it.

Its rules need CEL's flatten(), which Kubernetes 1.33 and 1.34 refuse (`undeclared reference to
'flatten'`); a chart's crds/ cannot be conditional, so the policy is a template that checks the
cluster's version. Rendered with helm, as `helm install` does, at versions either side of 1.35.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from ironflow_testbed.binaries import BIN_DIR_ENV

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ironflow"
POLICY = "ironflowconfig-values.ironflow.io"  # as kubectl applies it from crds/kubernetes-1.35/
CHART_POLICY = "ironflowconfig-values.helm.ironflow.io"  # the chart's (Helm cannot adopt the other)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_manifests", ROOT / "hack" / "gen-manifests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rendered(kube_version: str) -> dict[tuple[str, str], dict[str, object]]:
    # The control-plane cache (resolved by the root conftest against the real HOME), as `make` uses.
    helm = _generator().find_helm(str(Path(os.environ[BIN_DIR_ENV]) / "helm"))
    argv = [helm, "template", "ironflow", str(CHART), "--namespace", "ironflow-system",
            "--kube-version", kube_version]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


@pytest.mark.parametrize("kube_version", ["1.33.0", "1.34.4", "v1.34.2-eks-4e2bf9a"])
def test_given_kubernetes_before_1_35_when_chart_rendered_then_no_flatten_policy(kube_version: str) -> None:
    objects = _rendered(kube_version)
    assert ("ValidatingAdmissionPolicy", CHART_POLICY) not in objects
    assert ("ValidatingAdmissionPolicyBinding", CHART_POLICY) not in objects
    assert not [key for key, doc in objects.items() if "flatten()" in yaml.safe_dump(doc)]
    assert ("Deployment", "ironflow-operator") in objects, "the rest of the chart still renders"


@pytest.mark.parametrize("kube_version", ["1.35.0", "1.36.0", "v1.35.2-gke.1000"])
def test_given_kubernetes_1_35_or_newer_when_chart_rendered_then_value_policy_as_in_crds(
    kube_version: str,
) -> None:
    objects = _rendered(kube_version)
    source = ROOT / "crds" / "kubernetes-1.35" / "ironflow.io_ironflowconfig-values-policy.yaml"
    expected = [d for d in yaml.safe_load_all(source.read_text().replace(POLICY, CHART_POLICY)) if d]
    assert [d["metadata"]["name"] for d in expected] == [CHART_POLICY, CHART_POLICY]
    assert expected[1]["spec"]["policyName"] == CHART_POLICY
    assert [objects.get((d["kind"], d["metadata"]["name"])) for d in expected] == expected


def test_given_crds_folder_when_listed_then_no_file_directly_in_it_uses_flatten() -> None:
    """`kubectl apply -f crds/` (no -R) and the chart's crds/ must install on every supported version."""
    for folder in (ROOT / "crds", CHART / "crds", ROOT / "manifests", ROOT / "manifests" / "crds"):
        users = [p.name for p in folder.glob("*.yaml") if ".flatten()" in p.read_text()]
        assert not users, f"{folder.relative_to(ROOT)}: {users} need Kubernetes 1.35"
    in_manifests = list((ROOT / "manifests").rglob("*values-policy*"))
    assert not in_manifests, "`kubectl apply -f manifests/ -R` must install on any supported version"
