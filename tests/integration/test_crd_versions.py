"""The operator's CRD version check against the real API server: the CRDs of crds/ are current;
annotated as an older release (what an upgrade without `kubectl apply -f crds/` leaves), the
check counts them in `ironflow_crds_outdated` and logs the fix; applied again, the count is 0."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from ironflow import metrics
from ironflow.controller import crd_check
from ironflow.controller.leadership import ElectionOptions
from ironflow.controller.state import Options, Runtime
from ironflow.core.model import CRD_VERSION_ANNOTATION
from ironflow.k8s.async_client import Kube
from ironflow.k8s.config import choose_cluster
from ironflow_testbed.cluster import Cluster

SECRETS_CRD = "ironflowsecrets.ironflow.io"
CRD_DIR = Path(__file__).resolve().parents[2] / "crds"


async def _check(cluster: Cluster, said: dict[str, str]) -> int:
    choice = choose_cluster(str(cluster.kubeconfig))
    options = Options(cluster=choice, namespaces=(), operator_namespace="ironflow-system",
                      master_key_secret="ironflow-master-key", metrics_port=0, health_port=0,
                      bind_address="127.0.0.1", workers=1, election=ElectionOptions(enabled=False))
    kube = await Kube.connect(choice)
    try:
        return await crd_check.check_once(Runtime(options=options, kube=kube), said)
    finally:
        await kube.close()


def _gauge() -> float:
    return metrics.REGISTRY.get_sample_value("ironflow_crds_outdated") or 0.0


def test_given_crds_older_than_operator_when_checked_then_metric_counts_them_until_reapplied(
    cluster: Cluster, crds: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    said: dict[str, str] = {}
    assert asyncio.run(_check(cluster, said)) == 0
    assert _gauge() == 0
    try:
        cluster.kubectl("annotate", "crd", SECRETS_CRD, f"{CRD_VERSION_ANNOTATION}=0.0.1", "--overwrite")
        with caplog.at_level(logging.WARNING, logger="ironflow.crds"):
            assert asyncio.run(_check(cluster, said)) == 1
        assert _gauge() == 1
        assert any(f"CRD {SECRETS_CRD} is from 0.0.1, older than the operator" in r.getMessage()
                   for r in caplog.records), caplog.text  # fmt: skip
        cluster.kubectl("annotate", "crd", SECRETS_CRD, f"{CRD_VERSION_ANNOTATION}-")  # as 0.1.0 left them
        assert asyncio.run(_check(cluster, said)) == 1
    finally:
        cluster.kubectl.apply(*sorted(CRD_DIR.glob("*.yaml")))  # what docs/install.md has users do
    assert asyncio.run(_check(cluster, said)) == 0
    assert _gauge() == 0

