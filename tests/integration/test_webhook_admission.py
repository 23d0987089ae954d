"""Declaring pods against the real API server: it calls the webhook over TLS for every one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import GROUP, Operator, OperatorProcess, wait_status
from webhook_fixtures import (
    create_resource,
    deployment,
    pod_manifest,
    unique,
    wait_for_default_service_account,
    wait_projected,
)

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]

DB_REF = {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app", "key": "DB_PASSWORD"}}}


@pytest.fixture
def dev(k8s_api: client.ApiClient, namespace: str, pod_webhook: OperatorProcess) -> str:
    """An environment defining DB_PASSWORD and OTHER (secrets) and HTTP_TIMEOUT_MS (config)."""
    create_resource(
        k8s_api, namespace, "IronflowSecret", "app", {"DB_PASSWORD": "dev:s3cret", "OTHER": "dev:x"}
    )
    create_resource(k8s_api, namespace, "IronflowConfig", "app", {"HTTP_TIMEOUT_MS": 2500})
    wait_projected(k8s_api, namespace, "IronflowSecret", "app")
    wait_projected(k8s_api, namespace, "IronflowConfig", "app")
    wait_for_default_service_account(k8s_api, namespace)
    return namespace


def create_pod(api: client.ApiClient, ns: str, annotations: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = pod_manifest("p", annotations, **kw)
    created = client.CoreV1Api(api).create_namespaced_pod(ns, body)
    return dict(api.sanitize_for_serialization(created))


def refusal(api: client.ApiClient, ns: str, annotations: dict[str, str], **kw: Any) -> str:
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(api).create_namespaced_pod(ns, pod_manifest("p", annotations, **kw))
    return str(json.loads(caught.value.body)["message"])


def ironflow_env(pod: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [c.get("env", []) for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]]


def test_given_db_password_in_dev_when_pod_created_then_exactly_that_env_entry(
    k8s_api: client.ApiClient, dev: str
) -> None:
    pod = create_pod(k8s_api, dev, {"ironflow.io/secrets": "DB_PASSWORD"})
    assert ironflow_env(pod) == [[DB_REF]]
    assert "volumes" not in pod["spec"] or all(
        v["name"] != "ironflow-declared" for v in pod["spec"]["volumes"]
    )
    record = json.loads(pod["metadata"]["annotations"]["ironflow.io/injected"])
    assert record["secrets"] == {"DB_PASSWORD": "app"} and record["configs"] == {}


def test_given_files_mode_when_pod_created_then_projected_volume_has_only_declared_items(
    k8s_api: client.ApiClient, dev: str
) -> None:
    pod = create_pod(
        k8s_api,
        dev,
        {
            "ironflow.io/secrets": "DB_PASSWORD",
            "ironflow.io/configs": "HTTP_TIMEOUT_MS",
            "ironflow.io/projection": "files",
        },
    )
    assert ironflow_env(pod) == [[]]
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "ironflow-declared")
    sources = volume["projected"]["sources"]
    assert [s["secret"]["items"] for s in sources if "secret" in s] == [
        [{"key": "DB_PASSWORD", "path": "secrets/DB_PASSWORD"}]
    ]
    assert [s["configMap"]["items"] for s in sources if "configMap" in s] == [
        [{"key": "HTTP_TIMEOUT_MS", "path": "configs/HTTP_TIMEOUT_MS"}]
    ]
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "ironflow-declared", "mountPath": "/var/run/ironflow", "readOnly": True} in mounts


def test_given_env_and_files_when_pod_created_then_both_and_init_containers_too(
    k8s_api: client.ApiClient, dev: str
) -> None:
    pod = create_pod(
        k8s_api,
        dev,
        {"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "env,files"},
        init=[{"name": "migrate", "image": "registry.invalid/m:1"}],
    )
    assert ironflow_env(pod) == [[DB_REF], [DB_REF]]
    assert any(v["name"] == "ironflow-declared" for v in pod["spec"]["volumes"])


def test_given_tls_key_names_when_pod_declares_them_then_files_only_and_env_mode_refused(
    k8s_api: client.ApiClient, dev: str
) -> None:
    create_resource(k8s_api, dev, "IronflowSecret", "web-tls", {"tls.crt": "dev:c", "tls.key": "dev:k"})
    message = refusal(k8s_api, dev, {"ironflow.io/secrets": "tls.crt"})
    assert "tls.crt is not an environment variable name" in message
    assert "/var/run/ironflow/secrets/tls.crt" in message
    declaring = {
        "ironflow.io/secrets": "DB_PASSWORD, tls.crt, tls.key",
        "ironflow.io/projection": "env,files",
    }
    pod = eventually(
        lambda: _admitted(k8s_api, dev, declaring),
        timeout=30,
        what="the webhook to see IronflowSecret web-tls",
    )
    assert ironflow_env(pod) == [[DB_REF]]
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "ironflow-declared")
    sources = [s["secret"] for s in volume["projected"]["sources"] if "secret" in s]
    items = {i["key"]: i["path"] for source in sources for i in source["items"]}
    assert items == {
        "DB_PASSWORD": "secrets/DB_PASSWORD",
        "tls.crt": "secrets/tls.crt",
        "tls.key": "secrets/tls.key",
    }


def _admitted(api: client.ApiClient, ns: str, annotations: dict[str, str]) -> dict[str, Any] | None:
    try:
        return create_pod(api, ns, annotations)
    except client.ApiException as error:
        if "does not define" in str(error.body) or "not projected yet" in str(error.body):
            return None
        raise


def test_given_optional_name_undefined_when_pod_created_then_admitted_without_it(
    k8s_api: client.ApiClient, dev: str
) -> None:
    pod = create_pod(k8s_api, dev, {"ironflow.io/secrets": "DB_PASSWORD, SLACK_WEBHOOK?"})
    assert ironflow_env(pod) == [[DB_REF]]
    assert json.loads(pod["metadata"]["annotations"]["ironflow.io/injected"])["absentOptional"] == [
        "SLACK_WEBHOOK"
    ]


def test_given_required_name_undefined_when_pod_created_then_refused_naming_it_and_environment(
    k8s_api: client.ApiClient, dev: str
) -> None:
    message = refusal(k8s_api, dev, {"ironflow.io/secrets": "DB_PASSWORD, STRIPE_KEY"})
    assert f"environment {dev} does not define secret STRIPE_KEY" in message
    assert "declarations.pods.ironflow.io" in message


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({"ironflow.io/secrets": ""}, "ironflow.io/secrets: is empty"),
        (
            {"ironflow.io/secrets": "DB-PASSWORD"},
            "DB-PASSWORD is not an environment variable name, so it cannot be injected as env",
        ),
        ({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "volume"}, "unknown mode 'volume'"),
        ({"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/containers": "web"}, "no container named 'web'"),
    ],
)
def test_given_malformed_annotation_when_pod_created_then_refused_with_precise_message(
    k8s_api: client.ApiClient, dev: str, annotations: dict[str, str], expected: str
) -> None:
    assert expected in refusal(k8s_api, dev, annotations)


def test_given_variable_already_set_when_pod_created_then_left_as_written_with_warning(
    cluster: Cluster, dev: str
) -> None:
    manifest = pod_manifest(
        "p",
        {"ironflow.io/secrets": "DB_PASSWORD"},
        containers=[
            {
                "name": "app",
                "image": "registry.invalid/app:1",
                "env": [{"name": "DB_PASSWORD", "value": "from-manifest"}],
            }
        ],
    )
    result = cluster.kubectl("create", "-n", dev, "-f", "-", input=json.dumps(manifest))
    assert "Warning: ironflow: container app already sets DB_PASSWORD; left as written" in result.stderr
    pod = json.loads(cluster.kubectl("get", "pod", "p", "-n", dev, "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["env"] == [{"name": "DB_PASSWORD", "value": "from-manifest"}]


def test_given_server_dry_run_when_pod_created_then_injected_and_nothing_stored(
    k8s_api: client.ApiClient, dev: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    out = core.create_namespaced_pod(
        dev, pod_manifest("p", {"ironflow.io/secrets": "DB_PASSWORD"}), dry_run="All"
    )
    assert out.spec.containers[0].env[0].name == "DB_PASSWORD"
    assert core.list_namespaced_pod(dev).items == []


def test_given_operator_namespace_when_declaring_pod_created_then_webhook_not_called(
    k8s_api: client.ApiClient, operator: Operator, pod_webhook: OperatorProcess
) -> None:
    wait_for_default_service_account(k8s_api, operator.operator_namespace)
    out = client.CoreV1Api(k8s_api).create_namespaced_pod(
        operator.operator_namespace, pod_manifest("p", {"ironflow.io/secrets": "NOT_DEFINED"}), dry_run="All"
    )
    assert "ironflow.io/injected" not in (out.metadata.annotations or {})


def test_given_deployment_declaring_db_password_when_controller_creates_pods_then_injected(
    k8s_api: client.ApiClient, dev: str
) -> None:
    apps, core = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api)
    apps.create_namespaced_deployment(dev, deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"}))
    pods = eventually(
        lambda: core.list_namespaced_pod(dev, label_selector="app=web").items,
        timeout=60,
        what="the ReplicaSet controller to create a pod",
    )
    assert [[e.to_dict() for e in (c.env or [])] for c in pods[0].spec.containers] == [
        [
            {
                "name": "DB_PASSWORD",
                "value": None,
                "value_from": {
                    "config_map_key_ref": None,
                    "field_ref": None,
                    "file_key_ref": None,
                    "resource_field_ref": None,
                    "secret_key_ref": {"key": "DB_PASSWORD", "name": "app", "optional": None},
                },
            }
        ]
    ]


def test_given_deployment_declaring_undefined_name_when_controller_creates_pods_then_refusal_in_events(
    k8s_api: client.ApiClient, dev: str
) -> None:
    apps, core = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api)
    apps.create_namespaced_deployment(dev, deployment("web", {"ironflow.io/secrets": "STRIPE_KEY"}))

    def refused() -> list[str]:
        events = core.list_namespaced_event(dev).items
        return [e.message for e in events if e.reason == "FailedCreate" and "STRIPE_KEY" in (e.message or "")]

    messages = eventually(refused, timeout=60, what="a FailedCreate event from the ReplicaSet controller")
    assert f"environment {dev} does not define secret STRIPE_KEY" in messages[0]
    assert core.list_namespaced_pod(dev).items == []


def test_given_canary_values_when_pods_admitted_then_operator_log_holds_none(
    k8s_api: client.ApiClient,
    namespace: str,
    pod_webhook: OperatorProcess,
) -> None:
    create_resource(k8s_api, namespace, "IronflowSecret", "app", {"DB_PASSWORD": "dev:canary-secret-51d"})
    wait_projected(k8s_api, namespace, "IronflowSecret", "app")
    wait_for_default_service_account(k8s_api, namespace)
    written = [{"name": "DB_PASSWORD", "value": "canary-manifest-83a"}]
    create_pod(
        k8s_api,
        namespace,
        {"ironflow.io/secrets": "DB_PASSWORD"},
        containers=[{"name": "app", "image": "registry.invalid/app:1", "env": written}],
    )
    refusal(
        k8s_api,
        namespace,
        {"ironflow.io/secrets": "MISSING"},
        containers=[{"name": "app", "image": "registry.invalid/app:1", "env": written}],
    )
    eventually(
        lambda: f"refused pod {namespace}/p" in pod_webhook.output(),
        timeout=30,
        what="the operator to log the refusal",
    )
    log = pod_webhook.output()
    assert f"admitted pod {namespace}/p" in log
    assert "canary-secret-51d" not in log and "canary-manifest-83a" not in log


def test_given_namespace_the_operator_does_not_serve_when_declaring_pod_created_then_refused(
    k8s_api: client.ApiClient, pod_webhook: OperatorProcess
) -> None:
    core = client.CoreV1Api(k8s_api)
    other = unique("not-served")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
    try:
        create_resource(k8s_api, other, "IronflowSecret", "app", {"DB_PASSWORD": "dev:x"})
        wait_for_default_service_account(k8s_api, other)
        message = refusal(k8s_api, other, {"ironflow.io/secrets": "DB_PASSWORD"})
        assert f"environment {other} is not served by this Ironflow operator" in message
    finally:
        core.delete_namespace(other, propagation_policy="Background")


def test_given_unowned_secret_named_like_the_resource_when_declaring_pod_created_then_refused(
    k8s_api: client.ApiClient, dev: str
) -> None:
    client.CoreV1Api(k8s_api).create_namespaced_secret(
        dev, {"metadata": {"name": "legacy"}, "stringData": {"DB_LEGACY": "not-ironflows"}}
    )
    create_resource(k8s_api, dev, "IronflowSecret", "legacy", {"DB_LEGACY": "dev:ours"})
    message = refusal(k8s_api, dev, {"ironflow.io/secrets": "DB_LEGACY"})
    assert "secret DB_LEGACY (its Secret legacy)" in message and "not managed by Ironflow" in message
    assert dev in message
    # The environment's own, operator-owned Secret is still injected beside it.
    pod = create_pod(k8s_api, dev, {"ironflow.io/secrets": "DB_PASSWORD, DB_LEGACY?"})
    assert ironflow_env(pod) == [[DB_REF]]


def _ready(cr: dict[str, Any]) -> bool:
    """Projected and reported: the status is written after the object, so the operator has seen it."""
    status = cr.get("status") or {}
    return status.get("observedGeneration") == cr["metadata"]["generation"] and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def test_given_many_resources_when_pod_declares_two_names_then_no_list_and_no_get_per_admission(
    k8s_api: client.ApiClient, dev: str, operator: Operator, cluster: Cluster
) -> None:
    """Names come from the operator's resource cache, ownership of the two objects the pod draws on
    from its projected-object cache (its own list+watch): the API server sees no read for a pod."""
    audit = cluster.audit
    if audit is None:
        pytest.skip("counting the webhook's reads needs the session's own control plane (audit log)")
    for i in range(8):
        create_resource(k8s_api, dev, "IronflowSecret", f"extra-{i}", {f"EXTRA_{i}": "dev:x"})
    for kind, name in [("IronflowSecret", "app"), ("IronflowConfig", "app")] + [
        ("IronflowSecret", f"extra-{i}") for i in range(8)
    ]:
        wait_status(k8s_api, kind, dev, name, _ready, f"{kind} {name} projected", timeout=60)

    def lists() -> int:
        return len(
            [e for e in audit.events(user=operator.user, namespace=dev, verb="list") if e.api_group == GROUP]
        )

    def ownership_reads() -> list[tuple[str, str]]:
        return sorted(
            (e.resource, e.name)
            for e in audit.events(user=operator.user, namespace=dev, verb="get")
            if (e.raw.get("responseObject") or {}).get("kind") == "PartialObjectMetadata"
        )

    listed_before, read_before = lists(), ownership_reads()
    declared = {"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/configs": "HTTP_TIMEOUT_MS"}
    core = client.CoreV1Api(k8s_api)
    pods = [core.create_namespaced_pod(dev, pod_manifest(unique("p"), declared)) for _ in range(3)]

    for pod in pods:
        record = json.loads(pod.metadata.annotations["ironflow.io/injected"])
        assert record["secrets"] == {"DB_PASSWORD": "app"} and record["configs"] == {"HTTP_TIMEOUT_MS": "app"}
        audit.wait_for(verb="create", resource="pods", namespace=dev, name=pod.metadata.name)
    assert ownership_reads() == read_before, "ownership came from the projected-object cache, not a GET"
    assert lists() == listed_before, "the environment came from the operator's cache, not a LIST per pod"
