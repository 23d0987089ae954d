"""Workloads on the node: targeted rollouts, optional names defined later, master-key faults.

The evidence is always a process: the new pod's output after a change, the running pod's files
(`kubectl exec`, API server -> kubelet -> containerd) after a key fault, a pod UID that did not
change when a rollout must not happen.
"""

from __future__ import annotations

from typing import Any

import pytest
from cli_support import Cli, trust_signer
from kubernetes import client
from node_support import REPORT, Report, parse, pod, pod_spec, report_of_running, run
from node_support import running as wait_running
from operator_fixtures import Operator, apply_cr, new_key, sealed, wait_ready
from webhook_fixtures import deployment

from ironflow.core.keyring import Keyring
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

pytest_plugins = ["cli_fixtures", "operator_fixtures", "webhook_fixtures"]

# print, then keep running (a Deployment's pod must not exit); SIGKILL stops it (grace 0)
KEEP_RUNNING = REPORT + "; exec sleep inf"


@pytest.fixture
def keyed(
    request: pytest.FixtureRequest, node: Node, operator: Operator, k8s_api: client.ApiClient, namespace: str
) -> str:
    """The operator with a master key and its pod webhook; returns the key."""
    key = new_key()
    operator.set_master_key(key)
    request.getfixturevalue("pod_webhook")
    return key


def secrets(api: client.ApiClient, key: str, namespace: str, values: dict[str, str]) -> None:
    apply_cr(
        api, "IronflowSecret", namespace, "app", {n: sealed(key, namespace, n, v) for n, v in values.items()}
    )
    wait_ready(api, "IronflowSecret", namespace, "app", timeout=60)


def declaring(name: str, declares: str) -> dict[str, Any]:
    return deployment(name, {"ironflow.io/secrets": declares}, spec=pod_spec(KEEP_RUNNING, restart="Always"))


def running_pods(api: client.ApiClient, namespace: str, app: str) -> list[client.V1Pod]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]


def the_running_pod(api: client.ApiClient, namespace: str, app: str, not_uid: str = "") -> client.V1Pod:
    """The one Running pod of `app` (other than `not_uid`), once the rollout has settled on it."""

    def settled() -> client.V1Pod | None:
        pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
        live = [p for p in pods if not p.metadata.deletion_timestamp]
        if len(live) == 1 and live[0].status.phase == "Running" and live[0].metadata.uid != not_uid:
            return live[0]
        return None

    return eventually(settled, timeout=120, what=f"one Running pod of {app} (not {not_uid or '-'})")


def report_of(cluster: Cluster, namespace: str, pod: client.V1Pod) -> Report:
    return report_of_running(cluster, namespace, pod.metadata.name)


def test_given_two_deployments_when_cli_sets_a_name_then_only_its_declarer_gets_a_new_pod_with_the_new_value(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, keyed: str, cli: Cli
) -> None:
    secrets(k8s_api, keyed, namespace, {"DB_PASSWORD": "canary-first-31a", "OTHER": "canary-other-5c2"})
    apps = client.AppsV1Api(k8s_api)
    apps.create_namespaced_deployment(namespace, declaring("db-user", "DB_PASSWORD"))
    apps.create_namespaced_deployment(namespace, declaring("other-user", "OTHER"))
    first = the_running_pod(k8s_api, namespace, "db-user")
    other = the_running_pod(k8s_api, namespace, "other-user")
    assert report_of(cluster, namespace, first).env.get("DB_PASSWORD") == "canary-first-31a"
    assert report_of(cluster, namespace, other).env.get("OTHER") == "canary-other-5c2"

    # what a user does once per cluster with the signer id their admin gave them (docs/cli.md, Trust)
    trust_signer(cli, Keyring.from_master_keys(bytes.fromhex(keyed)))
    cli.ok("secret", "set", "DB_PASSWORD", "--env", namespace, "-", stdin="canary-second-8e4")

    second = the_running_pod(k8s_api, namespace, "db-user", not_uid=first.metadata.uid)
    report = report_of(cluster, namespace, second)
    assert report.env.get("DB_PASSWORD") == "canary-second-8e4"
    assert "OTHER" not in report.env
    # db-user's rollout is done, so the operator has handled the change: other-user kept its pod
    assert [p.metadata.uid for p in running_pods(k8s_api, namespace, "other-user")] == [other.metadata.uid]


def test_given_optional_name_absent_when_defined_later_then_the_rolled_pod_gets_it(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, keyed: str
) -> None:
    secrets(k8s_api, keyed, namespace, {"DB_PASSWORD": "canary-db-6d1"})
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        namespace, declaring("web", "DB_PASSWORD, LATER?")
    )
    first = the_running_pod(k8s_api, namespace, "web")
    before = report_of(cluster, namespace, first)
    assert before.env.get("DB_PASSWORD") == "canary-db-6d1"
    assert "LATER" not in before.env

    secrets(k8s_api, keyed, namespace, {"DB_PASSWORD": "canary-db-6d1", "LATER": "canary-later-2f9"})

    second = the_running_pod(k8s_api, namespace, "web", not_uid=first.metadata.uid)
    after = report_of(cluster, namespace, second)
    assert (after.env.get("DB_PASSWORD"), after.env.get("LATER")) == ("canary-db-6d1", "canary-later-2f9")


def _exec_files(cluster: Cluster, namespace: str, name: str) -> Report:
    out = cluster.kubectl("exec", "--namespace", namespace, name, "--", "sh", "-c", REPORT).stdout
    return parse(out)


def test_given_master_key_deleted_then_replaced_when_pods_run_then_running_and_new_pods_keep_last_good_values(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, keyed: str, operator: Operator
) -> None:
    secrets(k8s_api, keyed, namespace, {"DB_PASSWORD": "canary-good-0b7"})
    declares = {"ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/projection": "env,files"}
    core = client.CoreV1Api(k8s_api)
    core.create_namespaced_pod(namespace, pod("long", declares, command=KEEP_RUNNING))
    running = wait_running(k8s_api, namespace, "long")
    good = {"DB_PASSWORD": "canary-good-0b7"}

    for fault, apply_fault, reason in (
        ("deleted", operator.delete_master_key, "NoMasterKey"),
        ("replaced", lambda: operator.set_master_key(new_key()), "WrongKey"),
    ):
        apply_fault()
        cr = eventually(
            lambda r=reason: _name_reason(k8s_api, namespace, "DB_PASSWORD", r),
            timeout=60,
            what=f"the operator to report {reason} after the key was {fault}",
        )
        assert cr
        now = _exec_files(cluster, namespace, "long")
        assert (now.ironflow_env({"DB_PASSWORD"}), now.files) == (
            good,
            {"secrets/DB_PASSWORD": good["DB_PASSWORD"]},
        )
        assert core.read_namespaced_pod("long", namespace).metadata.uid == running.metadata.uid
        fresh = run(cluster, k8s_api, namespace, pod(f"after-key-{fault}", declares))
        assert fresh.ironflow_env({"DB_PASSWORD"}) == good, fault
        assert fresh.files == {"secrets/DB_PASSWORD": good["DB_PASSWORD"]}, fault


def _name_reason(api: client.ApiClient, namespace: str, name: str, reason: str) -> bool:
    body = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, "ironflowsecrets", "app"
    )
    return ((body.get("status") or {}).get("names") or {}).get(name, {}).get("reason") == reason
