"""Bodies the API server should never have stored: one bad object is reported, everything else goes on.

The CRDs in crds/ refuse these bodies (see test_crds.py); but an object may predate them or come
through a CRD installed without schema and policy. These tests install exactly such a variant,
for the duration of one test, and restore crds/ afterwards (hostile_crd_fixtures.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile_crd_fixtures import DEEP_CONFIG, STRING_SECRET, STRING_SPEC
from kubernetes import client
from operator_fixtures import (
    Operator,
    apply_cr,
    configmap_data,
    new_key,
    ready,
    sealed,
    secret_data,
    wait_event,
    wait_ready,
)
from webhook_fixtures import pod_manifest

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures", "webhook_fixtures", "hostile_crd_fixtures"]
CONFIG, SECRET = "IronflowConfig", "IronflowSecret"


def _deep(cluster: Cluster, namespace: str) -> dict[str, Any]:
    """The deep config without its spec: kubectl (Go) reads it, where Python's json would hit its
    recursion limit in the kubernetes client."""
    out = cluster.kubectl("get", "ironflowconfig", "deep", "-n", namespace, "-o", "jsonpath={.status}").stdout
    return {"status": json.loads(out or "{}")}


def test_given_config_nested_1000_deep_when_operator_watches_and_restarts_then_it_survives_and_reports_it(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, schemaless_crds: None, operator: Operator
) -> None:
    operator.set_master_key(new_key())
    run = operator.start()
    apply_cr(k8s_api, CONFIG, namespace, "before", {"A": 1})
    wait_ready(k8s_api, CONFIG, namespace, "before")
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=DEEP_CONFIG)

    def reported() -> dict[str, Any] | None:
        deep = _deep(cluster, namespace)
        return deep if ready(deep).get("reason") == "InvalidEntry" else None

    deep = eventually(reported, timeout=30, what="the deep config reported not Ready")
    assert ready(deep)["status"] == "False"
    assert "DEEP is refused: the value is nested deeper than 32 levels" in ready(deep)["message"]
    names = deep["status"]["names"]
    assert names["DEEP"]["state"] == "Failed" and names["OK"]["state"] == "Projected"
    assert configmap_data(k8s_api, namespace, "deep") == {"OK": "1"}
    # The watch goes on: a resource created after the deep one is projected.
    apply_cr(k8s_api, CONFIG, namespace, "after", {"B": 2})
    wait_ready(k8s_api, CONFIG, namespace, "after")
    assert configmap_data(k8s_api, namespace, "after") == {"B": "2"}
    assert run.process.poll() is None, "the operator exited"
    # A restart lists the deep object first (kopf's listing path), and still serves everything.
    operator.stop()
    restarted = operator.start()
    apply_cr(k8s_api, CONFIG, namespace, "later", {"C": 3})
    wait_ready(k8s_api, CONFIG, namespace, "later")
    assert restarted.process.poll() is None
    assert "RecursionError" not in operator.logs()


def test_given_secret_whose_spec_is_a_string_when_reconciled_then_reported_once_not_retried_and_pods_admitted(
    cluster: Cluster,
    k8s_api: client.ApiClient,
    namespace: str,
    schemaless_crds: None,
    operator: Operator,
    master_key: str,
    pod_webhook: Any,
) -> None:
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=STRING_SECRET)
    value = sealed(master_key, namespace, "DB_PASSWORD", "pw")
    apply_cr(k8s_api, SECRET, namespace, "app", {"DB_PASSWORD": value})
    wait_ready(k8s_api, SECRET, namespace, "app")
    bad = wait_ready(k8s_api, SECRET, namespace, "bad", reason="InvalidSpec")
    assert ready(bad)["message"].startswith("spec must be an object, not a string")
    assert STRING_SPEC not in json.dumps(bad["status"])
    event = wait_event(k8s_api, namespace, "bad", "InvalidSpec")
    assert event.type == "Warning" and STRING_SPEC not in (event.message or "")
    # Pods declaring names of other resources are admitted, with their values injected.
    pod = client.CoreV1Api(k8s_api).create_namespaced_pod(
        namespace, pod_manifest("uses-app", {"ironflow.io/secrets": "DB_PASSWORD"}))
    refs = [e.value_from.secret_key_ref.name for e in pod.spec.containers[0].env or []]
    assert refs == ["app"]
    assert secret_data(k8s_api, namespace, "app") == {"DB_PASSWORD": "pw"}
    # Nothing is retried forever: the operator catches up and its queue empties.
    eventually(lambda: pod_webhook.metric("ironflow_queue_depth") == 0, timeout=30, what="queue depth 0")
    assert "crashed; retrying" not in operator.logs()
    # The string might be a pasted plaintext: it appears in no log line (the run logs at DEBUG).
    assert STRING_SPEC not in operator.logs()


def test_given_resource_waiting_on_an_ownership_conflict_when_idle_then_queue_depth_is_zero(
    k8s_api: client.ApiClient, namespace: str, operator: Operator
) -> None:
    client.CoreV1Api(k8s_api).create_namespaced_config_map(
        namespace, {"metadata": {"name": "taken"}, "data": {"X": "someone else's"}})
    operator.set_master_key(new_key())
    run = operator.start()
    apply_cr(k8s_api, CONFIG, namespace, "taken", {"X": 1})
    wait_ready(k8s_api, CONFIG, namespace, "taken", reason="OwnershipConflict")
    eventually(lambda: run.metric("ironflow_queue_depth") == 0, timeout=30,
               what="queue depth 0 while a resource is parked on an ownership conflict")
    assert configmap_data(k8s_api, namespace, "taken") == {"X": "someone else's"}


@pytest.fixture
def master_key(operator: Operator) -> str:
    key = new_key()
    operator.set_master_key(key)
    return key
