"""With the operator stopped, pods that declare nothing keep being created; declaring pods fail closed."""

from __future__ import annotations

from kubernetes import client
from operator_fixtures import Operator
from webhook_fixtures import (
    assert_fail_closed,
    create_resource,
    deployment,
    pod_manifest,
    start_with_webhook,
    wait_projected,
    wait_until_injecting,
)

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]


def test_given_operator_stopped_when_pods_created_then_plain_admitted_and_declaring_refused(
    k8s_api: client.ApiClient,
    namespace: str,
    operator: Operator,
    webhook_cluster_role: str,
    pod_webhook: object,
) -> None:
    create_resource(k8s_api, namespace, "IronflowSecret", "app", {"DB_PASSWORD": "dev:x"})
    wait_projected(k8s_api, namespace, "IronflowSecret", "app")
    core, apps = client.CoreV1Api(k8s_api), client.AppsV1Api(k8s_api)
    declaring = pod_manifest("declaring", {"ironflow.io/secrets": "DB_PASSWORD"})
    assert core.create_namespaced_pod(namespace, declaring, dry_run="All").spec.containers[0].env

    operator.stop()
    assert operator.current.process.returncode is not None

    assert_fail_closed(k8s_api, namespace, declaring)

    apps.create_namespaced_deployment(namespace, deployment("ordinary", {}, replicas=2))
    eventually(
        lambda: len(core.list_namespaced_pod(namespace, label_selector="app=ordinary").items) == 2,
        timeout=60,
        what="the controller manager to create both ordinary pods",
    )

    start_with_webhook(operator, operator.workdir)
    wait_until_injecting(k8s_api, namespace, operator.current)
    assert core.create_namespaced_pod(namespace, declaring).spec.containers[0].env[0].name == "DB_PASSWORD"
