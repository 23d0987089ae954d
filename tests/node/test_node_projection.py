"""What a real process receives: exactly the names its pod declares, as env, files, or both.

Every test here reads the output of a container that ran on the node (`env` and `cat` of the
projected files, through `kubectl logs`), after the operator projected sealed values and the
webhook rewrote the pod. Values are canaries, so a value showing up where it was not declared
is caught by name and by value.
"""

from __future__ import annotations

import pytest
from kubernetes import client
from node_support import Report, pod, run
from operator_fixtures import Operator, apply_cr, new_key, ready, sealed, wait_ready, wait_status
from webhook_fixtures import wait_for_default_service_account

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node
from ironflow_testbed.nodeconfig import POD_SUBNET

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]

SECRETS = {
    "DB_PASSWORD": "canary-db-4f1e",
    "API_TOKEN": "canary-token-9a2c",
    "UNDECLARED_SECRET": "canary-no-77d0",
}
CONFIGS = {
    "HTTP_TIMEOUT_MS": 2500,
    "FEATURE_X": True,
    "APP_YAML": "a: 1\nb: two\n",
    "UNDECLARED_CFG": "no-5b1",
}
ALL_NAMES = set(SECRETS) | set(CONFIGS)
PROJECTED_CONFIGS = {"HTTP_TIMEOUT_MS": "2500", "FEATURE_X": "true", "APP_YAML": "a: 1\nb: two\n"}


@pytest.fixture
def env(
    request: pytest.FixtureRequest, node: Node, operator: Operator, k8s_api: client.ApiClient, namespace: str
) -> str:
    """An environment with sealed secrets and configs projected, and the pod webhook serving it."""
    key = new_key()
    operator.set_master_key(key)
    request.getfixturevalue("pod_webhook")
    apply_cr(
        k8s_api,
        "IronflowSecret",
        namespace,
        "app",
        {name: sealed(key, namespace, name, value) for name, value in SECRETS.items()},
    )
    apply_cr(k8s_api, "IronflowConfig", namespace, "app", dict(CONFIGS))
    wait_ready(k8s_api, "IronflowSecret", namespace, "app", timeout=60)
    wait_ready(k8s_api, "IronflowConfig", namespace, "app", timeout=60)
    wait_for_default_service_account(k8s_api, namespace)
    return namespace


def _no_undeclared_value(report: Report) -> None:
    for value in ("canary-no-77d0", "no-5b1"):
        assert value not in report.raw


def test_given_env_mode_when_pod_runs_then_process_sees_exactly_the_declared_names_and_values(
    cluster: Cluster, k8s_api: client.ApiClient, env: str, node: Node
) -> None:
    annotations = {
        "ironflow.io/secrets": "DB_PASSWORD, API_TOKEN",
        "ironflow.io/configs": "HTTP_TIMEOUT_MS, FEATURE_X",
    }
    report = run(cluster, k8s_api, env, pod("env-mode", annotations))
    assert report.ironflow_env(ALL_NAMES) == {
        "DB_PASSWORD": "canary-db-4f1e",
        "API_TOKEN": "canary-token-9a2c",
        "HTTP_TIMEOUT_MS": "2500",
        "FEATURE_X": "true",
    }
    assert report.files == {}
    assert report.mounts == ()
    _no_undeclared_value(report)
    # the node's own logs never hold a value; the container's output, which printed them, does (the
    # scan's positive control)
    printed = "".join(p.read_text(errors="replace") for p in node.layout.pod_logs.rglob("*.log"))
    assert "canary-db-4f1e" in printed
    for component in ("containerd", "kubelet", "kube-scheduler"):
        text = node.layout.log(component).read_text(errors="replace")
        assert not [v for v in SECRETS.values() if v in text], f"a secret value in {component}.log"


def test_given_files_mode_when_pod_runs_then_each_declared_file_holds_its_value_and_nothing_else(
    cluster: Cluster, k8s_api: client.ApiClient, env: str
) -> None:
    annotations = {
        "ironflow.io/secrets": "DB_PASSWORD",
        "ironflow.io/configs": "APP_YAML, HTTP_TIMEOUT_MS",
        "ironflow.io/projection": "files",
    }
    report = run(cluster, k8s_api, env, pod("files-mode", annotations))
    assert report.files == {
        "secrets/DB_PASSWORD": "canary-db-4f1e",
        "configs/APP_YAML": "a: 1\nb: two\n",
        "configs/HTTP_TIMEOUT_MS": "2500",
    }
    assert report.ironflow_env(ALL_NAMES) == {}
    assert report.mounts and all(m.startswith("/var/run/ironflow") for m in report.mounts), report.mounts
    _no_undeclared_value(report)


def test_given_env_and_files_mode_when_pod_runs_then_env_names_and_files_both_hold_the_values(
    cluster: Cluster, k8s_api: client.ApiClient, env: str
) -> None:
    annotations = {
        "ironflow.io/secrets": "API_TOKEN",
        "ironflow.io/configs": "FEATURE_X, HTTP_TIMEOUT_MS",
        "ironflow.io/projection": "env,files",
    }
    report = run(cluster, k8s_api, env, pod("env-files", annotations))
    assert report.ironflow_env(ALL_NAMES) == {
        "API_TOKEN": "canary-token-9a2c",
        "FEATURE_X": "true",
        "HTTP_TIMEOUT_MS": "2500",
    }
    assert report.files == {
        "secrets/API_TOKEN": "canary-token-9a2c",
        "configs/FEATURE_X": "true",
        "configs/HTTP_TIMEOUT_MS": "2500",
    }
    _no_undeclared_value(report)


def test_given_pod_declaring_nothing_when_it_runs_then_it_sees_no_ironflow_value(
    cluster: Cluster, k8s_api: client.ApiClient, env: str
) -> None:
    report = run(cluster, k8s_api, env, pod("plain", {}))
    assert report.ironflow_env(ALL_NAMES) == {}
    assert report.files == {}
    assert report.mounts == ()
    for value in (*SECRETS.values(), "no-5b1"):
        assert value not in report.raw


def test_given_enforced_environment_when_pod_reaches_projected_secret_by_envfrom_then_refused_before_running(
    k8s_api: client.ApiClient, env: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    core.patch_namespace(env, {"metadata": {"labels": {"ironflow.io/enforce": "true"}}})
    body = pod("sneaky", {})
    body["spec"]["containers"][0]["envFrom"] = [{"secretRef": {"name": "app"}}]

    def refused() -> client.ApiException | None:
        try:
            core.create_namespaced_pod(env, body, dry_run="All")
        except client.ApiException as error:
            return error if error.status == 403 else None
        return None

    eventually(
        refused, timeout=30, what="the enforcement webhook to refuse envFrom in the labelled namespace"
    )
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_pod(env, body)
    assert caught.value.status == 403
    assert [p.metadata.name for p in core.list_namespaced_pod(env).items] == []


def test_given_pod_network_when_pod_runs_then_it_has_an_address_on_the_bridge_and_no_default_route(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, node: Node
) -> None:
    command = (
        "echo '--- routes'; cat /proc/net/route; echo '--- addr'; ip -4 addr show dev eth0; echo '=== end'"
    )
    raw = run(cluster, k8s_api, namespace, pod("routes", {}, command=command)).raw
    routes_text = raw.split("--- routes\n", 1)[1].split("--- addr", 1)[0]
    routes = [line.split() for line in routes_text.splitlines()[1:] if line.strip()]
    assert routes, raw  # the pod's own subnet
    assert all(fields[1] != "00000000" for fields in routes), f"a default route in the pod:\n{raw}"
    assert f"inet {POD_SUBNET.rsplit('.', 1)[0]}." in raw, raw


def test_given_name_sealed_for_a_foreign_key_when_pod_requires_it_then_refused_not_stuck_at_container_start(
    cluster: Cluster, k8s_api: client.ApiClient, env: str
) -> None:
    """Without the check the pod is admitted and the kubelet then fails it with
    CreateContainerConfigError (couldn't find key FOREIGN_TOKEN in Secret foreign)."""
    apply_cr(k8s_api, "IronflowSecret", env, "foreign",
             {"FOREIGN_TOKEN": sealed(new_key(), env, "FOREIGN_TOKEN", "canary-foreign-31b")})
    wait_status(k8s_api, "IronflowSecret", env, "foreign",
                lambda cr: ready(cr).get("reason") == "UnsealFailed", "FOREIGN_TOKEN failing", timeout=60)
    core = client.CoreV1Api(k8s_api)
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod(
            env, pod("foreign-required", {"ironflow.io/secrets": "DB_PASSWORD, FOREIGN_TOKEN"})
        )
    assert refused.value.status == 403
    assert "secret FOREIGN_TOKEN (IronflowSecret foreign): never projected" in str(refused.value.body)
    assert "unknown key id" in str(refused.value.body)
    assert not [p for p in core.list_namespaced_pod(env).items if p.metadata.name == "foreign-required"]

    optional = pod("foreign-optional", {"ironflow.io/secrets": "DB_PASSWORD, FOREIGN_TOKEN?"})
    report = run(cluster, k8s_api, env, optional)
    assert report.ironflow_env(ALL_NAMES | {"FOREIGN_TOKEN"}) == {"DB_PASSWORD": "canary-db-4f1e"}
