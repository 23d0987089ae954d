"""Targeted rollouts on the real API server, with the real operator projecting and watching.

A rollout is observed the way a user sees it: the controller manager creates a new ReplicaSet
and the Deployment's revision goes up. (Its generation is no measure: the API server bumps a
Deployment's generation on any annotation change, without rolling anything.) Rollouts that
must not happen are checked after a sibling's rollout in the same environment has happened, so
the operator has demonstrably processed the change that could have triggered them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import Operator, OperatorProcess
from webhook_fixtures import (
    GROUP,
    VERSION,
    create_resource,
    deployment,
    start_with_webhook,
    wait_for_default_service_account,
)

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]

OBSERVED = "ironflow.io/observed-versions"
DIGEST = "ironflow.io/rollout-digest"


@pytest.fixture
def env(k8s_api: client.ApiClient, namespace: str, pod_webhook: OperatorProcess) -> str:
    create_resource(
        k8s_api, namespace, "IronflowSecret", "app", {"DB_PASSWORD": "dev:one", "OTHER": "dev:one"}
    )
    wait_for_default_service_account(k8s_api, namespace)
    custom = client.CustomObjectsApi(k8s_api)

    def versioned() -> bool:
        body = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "ironflowsecrets", "app")
        names = (body.get("status") or {}).get("names") or {}
        return all((names.get(n) or {}).get("version") for n in ("DB_PASSWORD", "OTHER"))

    eventually(versioned, timeout=60, what="the operator to report versions for DB_PASSWORD and OTHER")
    return namespace


def read(api: client.ApiClient, ns: str, name: str) -> Any:
    return client.AppsV1Api(api).read_namespaced_deployment(name, ns)


def baseline(api: client.ApiClient, ns: str, name: str) -> dict[str, str]:
    def recorded() -> dict[str, str] | None:
        raw = (read(api, ns, name).metadata.annotations or {}).get(OBSERVED)
        return json.loads(raw) if raw else None

    return eventually(recorded, timeout=60, what=f"the operator to record the baseline of {name}")


def replica_sets(api: client.ApiClient, ns: str, name: str) -> list[Any]:
    return client.AppsV1Api(api).list_namespaced_replica_set(ns, label_selector=f"app={name}").items


def revision(api: client.ApiClient, ns: str, name: str) -> str | None:
    return (read(api, ns, name).metadata.annotations or {}).get("deployment.kubernetes.io/revision")


def set_secret(api: client.ApiClient, ns: str, name: str, value: str) -> None:
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, ns, "ironflowsecrets", "app", {"spec": {"sealed": {name: value}}}
    )


def rolled(api: client.ApiClient, ns: str, name: str) -> bool:
    d = read(api, ns, name)
    return DIGEST in (d.spec.template.metadata.annotations or {}) and len(replica_sets(api, ns, name)) == 2


def test_given_new_declaring_deployment_when_operator_records_baseline_then_no_rollout(
    k8s_api: client.ApiClient, env: str
) -> None:
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        env, deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"})
    )
    recorded = baseline(k8s_api, env, "web")
    assert set(recorded) == {"secret/DB_PASSWORD"}
    assert len(eventually(lambda: replica_sets(k8s_api, env, "web"), timeout=60, what="a ReplicaSet")) == 1
    # The deployment controller writes the revision annotation after creating the ReplicaSet.
    eventually(lambda: revision(k8s_api, env, "web"), timeout=60, what="the first revision of web")
    d = read(k8s_api, env, "web")
    assert DIGEST not in (d.spec.template.metadata.annotations or {})
    assert revision(k8s_api, env, "web") == "1"


def test_given_db_password_changes_when_reconciled_then_only_the_declaring_deployment_rolls(
    k8s_api: client.ApiClient, env: str
) -> None:
    apps = client.AppsV1Api(k8s_api)
    apps.create_namespaced_deployment(env, deployment("db-user", {"ironflow.io/secrets": "DB_PASSWORD"}))
    apps.create_namespaced_deployment(env, deployment("other-user", {"ironflow.io/secrets": "OTHER"}))
    opted_out = {"ironflow.io/rollout": "false"}
    apps.create_namespaced_deployment(
        env, deployment("opted-out", {"ironflow.io/secrets": "DB_PASSWORD"}, annotations=opted_out)
    )
    apps.create_namespaced_deployment(env, deployment("plain", {}))
    before = baseline(k8s_api, env, "db-user")
    baseline(k8s_api, env, "other-user")
    for name in ("db-user", "other-user", "opted-out", "plain"):
        eventually(
            lambda n=name: replica_sets(k8s_api, env, n), timeout=60, what=f"the first ReplicaSet of {name}"
        )
        eventually(lambda n=name: revision(k8s_api, env, n), timeout=60, what=f"the first revision of {name}")

    set_secret(k8s_api, env, "DB_PASSWORD", "dev:two")

    eventually(lambda: rolled(k8s_api, env, "db-user"), timeout=60, what="db-user to roll")
    after = json.loads(read(k8s_api, env, "db-user").metadata.annotations[OBSERVED])
    assert after["secret/DB_PASSWORD"] != before["secret/DB_PASSWORD"]
    for name in ("other-user", "opted-out", "plain"):
        d = read(k8s_api, env, name)
        assert revision(k8s_api, env, name) == "1", name
        assert DIGEST not in (d.spec.template.metadata.annotations or {}), name
        assert len(replica_sets(k8s_api, env, name)) == 1, name
    assert OBSERVED not in (read(k8s_api, env, "opted-out").metadata.annotations or {})
    assert OBSERVED not in (read(k8s_api, env, "plain").metadata.annotations or {})


def test_given_digest_when_rolled_then_it_holds_no_value(k8s_api: client.ApiClient, env: str) -> None:
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        env, deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"})
    )
    baseline(k8s_api, env, "web")
    set_secret(k8s_api, env, "DB_PASSWORD", "dev:canary-rollout-7c1")
    eventually(lambda: rolled(k8s_api, env, "web"), timeout=60, what="web to roll")
    everything = json.dumps(k8s_api.sanitize_for_serialization(read(k8s_api, env, "web")))
    assert "canary-rollout-7c1" not in everything


def test_given_unchanged_value_rewritten_when_reconciled_then_no_rollout_and_sibling_rolls(
    k8s_api: client.ApiClient, env: str
) -> None:
    apps = client.AppsV1Api(k8s_api)
    apps.create_namespaced_deployment(env, deployment("db-user", {"ironflow.io/secrets": "DB_PASSWORD"}))
    apps.create_namespaced_deployment(env, deployment("other-user", {"ironflow.io/secrets": "OTHER"}))
    baseline(k8s_api, env, "db-user")
    baseline(k8s_api, env, "other-user")
    for name in ("db-user", "other-user"):
        eventually(lambda n=name: revision(k8s_api, env, n), timeout=60, what=f"the first revision of {name}")

    set_secret(k8s_api, env, "OTHER", "dev:two")

    eventually(lambda: rolled(k8s_api, env, "other-user"), timeout=60, what="other-user to roll")
    assert revision(k8s_api, env, "db-user") == "1"
    assert len(replica_sets(k8s_api, env, "db-user")) == 1


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_given_statefulset_or_daemonset_declaring_when_value_changes_then_template_digest_set(
    k8s_api: client.ApiClient, env: str, kind: str
) -> None:
    apps = client.AppsV1Api(k8s_api)
    body = deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"})
    body["kind"] = kind
    del body["spec"]["replicas"]
    if kind == "StatefulSet":
        body["spec"]["serviceName"] = "web"
        create, read_one = apps.create_namespaced_stateful_set, apps.read_namespaced_stateful_set
    else:
        create, read_one = apps.create_namespaced_daemon_set, apps.read_namespaced_daemon_set
    create(env, body)
    eventually(
        lambda: OBSERVED in (read_one("web", env).metadata.annotations or {}),
        timeout=60,
        what=f"the baseline of the {kind}",
    )
    assert DIGEST not in (read_one("web", env).spec.template.metadata.annotations or {})

    set_secret(k8s_api, env, "DB_PASSWORD", "dev:two")

    eventually(
        lambda: DIGEST in (read_one("web", env).spec.template.metadata.annotations or {}),
        timeout=60,
        what=f"the {kind} template to carry a new digest",
    )


def test_given_value_changed_while_operator_down_when_it_restarts_then_the_workload_rolls(
    k8s_api: client.ApiClient, env: str, operator: Operator, tmp_path: Path
) -> None:
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        env, deployment("web", {"ironflow.io/secrets": "DB_PASSWORD"})
    )
    baseline(k8s_api, env, "web")
    eventually(lambda: revision(k8s_api, env, "web"), timeout=60, what="the first revision of web")
    operator.stop()

    set_secret(k8s_api, env, "DB_PASSWORD", "dev:changed-while-down")
    assert revision(k8s_api, env, "web") == "1"

    start_with_webhook(operator, tmp_path)
    eventually(lambda: rolled(k8s_api, env, "web"), timeout=60, what="web to roll after the restart")
