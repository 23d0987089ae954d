"""The whole product on the session's real control plane: chart, manifests/, operator, CLI.

Everything under tests/e2e is marked `e2e`. The install fixture runs exactly what docs/install.md
tells a user to run (`kubectl apply -f manifests/ -R`) and removes it afterwards, except the CRDs,
which the session shares with the integration tests (the `crds` fixture applies the same files).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).parent
# The operator is started the way the integration tests start it (operator_launch.py), not a copy.
sys.path.insert(0, str(HERE.parent / "integration"))
pytest.register_assert_rewrite("operator_launch", "e2e_support")

from e2e_support import MANIFESTS, OPERATOR_NAMESPACE  # noqa: E402  (after the path and the rewrite)

from ironflow_testbed import eventually  # noqa: E402
from ironflow_testbed.cluster import Cluster  # noqa: E402

CERT_MANAGER_STAND_IN = HERE / "testdata" / "cert-manager-crds.yaml"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def helm(cluster: Cluster) -> Path:
    if cluster.bin_dir is None or not (cluster.bin_dir / "helm").is_file():
        raise pytest.UsageError("helm not found next to the control-plane binaries: run `make control-plane`")
    return cluster.bin_dir / "helm"


@pytest.fixture(scope="session")
def cert_manager_crds(cluster: Cluster) -> None:
    """cert-manager's CRDs must exist for the chart's Issuer/Certificate (docs: a prerequisite)."""
    cluster.kubectl.apply(CERT_MANAGER_STAND_IN)
    cluster.kubectl.wait_for(
        "condition=Established",
        "crd/issuers.cert-manager.io",
        "crd/certificates.cert-manager.io",
        timeout=60,
    )


def manifest_files() -> list[Path]:
    """Every file of manifests/ that is not a CRD copy (those stay for the rest of the session)."""
    return sorted(p for p in MANIFESTS.glob("*.yaml"))


def manifest_objects() -> list[dict[str, object]]:
    return [doc for path in manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def remove_dev_webhook_registration(cluster: Cluster) -> None:
    """A cluster Ironflow was never installed on has no pod webhook configuration.

    The integration tests of this session leave one registered by URL (on purpose: declaring pods
    fail closed); a client-side apply would merge the chart's Service into it (invalid), and Helm
    would refuse to adopt it. Remove it, as `make run` users are told to (docs/install.md).
    """
    cluster.kubectl("delete", "--ignore-not-found", "mutatingwebhookconfiguration/ironflow-pod-declarations")


@pytest.fixture
def fresh_cluster(cluster: Cluster) -> None:
    remove_dev_webhook_registration(cluster)


def _operator_namespace_terminating(cluster: Cluster) -> bool:
    found = cluster.kubectl("get", "namespace", OPERATOR_NAMESPACE, "-o",
                            "jsonpath={.metadata.deletionTimestamp}", check=False)  # fmt: skip
    return found.returncode == 0 and bool(found.stdout.strip())


def _operator_namespace_gone(cluster: Cluster) -> bool:
    return cluster.kubectl("get", "namespace", OPERATOR_NAMESPACE, check=False).returncode != 0


@pytest.fixture(scope="module")
def installed(cluster: Cluster, crds: list[str], cert_manager_crds: None) -> Iterator[str]:
    """`kubectl apply -f manifests/ -R`, as a user runs it (client-side apply, file order).

    Removed afterwards, the operator namespace included, and only once that namespace is gone does
    the next install start: a namespace still terminating refuses every object applied into it."""
    eventually(lambda: not _operator_namespace_terminating(cluster), timeout=180,
               what=f"namespace {OPERATOR_NAMESPACE} of an earlier install gone")  # fmt: skip
    remove_dev_webhook_registration(cluster)
    result = cluster.kubectl("apply", "-f", str(MANIFESTS), "-R", check=False)
    assert result.returncode == 0, f"kubectl apply -f manifests/ -R failed:\n{result.stdout}\n{result.stderr}"
    eventually(
        lambda: (
            cluster.kubectl(
                "get", "serviceaccount/ironflow-operator", "-n", OPERATOR_NAMESPACE, check=False
            ).returncode
            == 0
        ),
        timeout=30,
        what="the operator's ServiceAccount",
    )
    yield result.stdout + result.stderr
    cluster.kubectl(
        "delete",
        "--ignore-not-found",
        "--wait=false",
        *[f"--filename={p}" for p in manifest_files()],
        check=False,
        timeout=120,
    )
    eventually(lambda: _operator_namespace_gone(cluster), timeout=180,
               what=f"namespace {OPERATOR_NAMESPACE} deleted")  # fmt: skip
