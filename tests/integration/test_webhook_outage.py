"""With the operator stopped, pods that declare nothing keep being created; declaring pods fail closed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from webhook_fixtures import (
    WebhookProcess,
    create_resource,
    pod_manifest,
    running,
    wait_for_default_service_account,
)

from ironflow.envtest import eventually
from ironflow.envtest.cluster import Cluster


@pytest.fixture
def stopped_operator(
    cluster: Cluster, crds: list[str], k8s_api: client.ApiClient, tmp_path: Path
) -> Iterator[WebhookProcess]:
    """An operator that registered its webhook and was then stopped (the configuration stays)."""
    gen = running(cluster, k8s_api, tmp_path, operator=True)
    proc = next(gen)
    proc.stop()
    assert proc.process.returncode is not None
    yield proc
    gen.close()


def test_given_operator_stopped_when_pods_created_then_plain_admitted_and_declaring_refused(
    k8s_api: client.ApiClient, namespace: str, stopped_operator: WebhookProcess
) -> None:
    create_resource(k8s_api, namespace, "IronflowSecret", "app", {"DB_PASSWORD": "dev:x"})
    wait_for_default_service_account(k8s_api, namespace)
    core, apps = client.CoreV1Api(k8s_api), client.AppsV1Api(k8s_api)

    plain = core.create_namespaced_pod(namespace, pod_manifest("plain", {"team": "payments"}))
    assert plain.metadata.name == "plain"

    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod(
            namespace, pod_manifest("declaring", {"ironflow.io/secrets": "DB_PASSWORD"})
        )
    message = json.loads(refused.value.body)["message"]
    assert 'failed calling webhook "declarations.pods.ironflow.io"' in message

    template = pod_manifest("x", {})
    apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "ordinary"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "ordinary"}},
                "template": {"metadata": {"labels": {"app": "ordinary"}}, "spec": template["spec"]},
            },
        },
    )
    pods = eventually(
        lambda: len(core.list_namespaced_pod(namespace, label_selector="app=ordinary").items) == 2 or None,
        timeout=60,
        what="the controller manager to create both ordinary pods",
    )
    assert pods
