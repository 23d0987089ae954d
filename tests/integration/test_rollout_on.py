"""ironflow.io/rollout-on and rollout visibility, with the real operator and controller manager.

A Deployment that reads the projected Secret whole (a chart's `existingSecret`: `envFrom`) and
declares nothing opts in by resource name; it must roll (a new ReplicaSet) when any value of that
resource changes, never on its creation, never for another resource. Every rollout is logged,
counted by workload kind and posted as a Normal Event on the workload, naming what changed and
nothing of the values: the changed value here is a canary searched for in each of those places.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from kubernetes import client
from operator_fixtures import Operator, events_for
from test_rollouts import (
    OBSERVED,
    baseline,
    env,
    read,
    replica_sets,
    revision,
    rolled,
    set_secret,
)
from webhook_fixtures import deployment

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]
__all__ = ["env"]  # the fixture: IronflowSecret app (DB_PASSWORD, OTHER) projected and versioned

ROLLOUT_ON = "ironflow.io/rollout-on"


def existing_secret_deployment(name: str, rollout_on: str) -> dict[str, Any]:
    body = deployment(name, {}, annotations={ROLLOUT_ON: rollout_on})
    body["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"secretRef": {"name": "app"}}]
    return body


def test_given_rollout_on_app_when_a_value_of_app_changes_then_only_that_deployment_rolls_and_says_so(
    k8s_api: client.ApiClient, env: str, operator: Operator
) -> None:
    apps = client.AppsV1Api(k8s_api)
    apps.create_namespaced_deployment(env, existing_secret_deployment("chart", "app"))
    apps.create_namespaced_deployment(env, existing_secret_deployment("bystander", "other"))
    recorded = baseline(k8s_api, env, "chart")
    assert set(recorded) == {"IronflowSecret/app", "IronflowConfig/app"}
    baseline(k8s_api, env, "bystander")
    for name in ("chart", "bystander"):
        eventually(lambda n=name: revision(k8s_api, env, n), timeout=60, what=f"the first revision of {name}")
        assert len(replica_sets(k8s_api, env, name)) == 1, name  # no roll on creation
    rollouts_before = operator.current.metric('ironflow_rollouts_total{kind="Deployment"}')

    canary = f"canary-{uuid.uuid4().hex[:10]}"
    set_secret(k8s_api, env, "OTHER", f"dev:{canary}")

    eventually(lambda: rolled(k8s_api, env, "chart"), timeout=90, what="chart to roll")
    assert revision(k8s_api, env, "bystander") == "1"
    assert len(replica_sets(k8s_api, env, "bystander")) == 1
    bystander = read(k8s_api, env, "bystander")
    assert "ironflow.io/rollout-digest" not in (bystander.spec.template.metadata.annotations or {})
    assert json.loads(bystander.metadata.annotations[OBSERVED]) == {
        "IronflowConfig/other": "-", "IronflowSecret/other": "-"}

    event = eventually(
        lambda: next((e for e in events_for(k8s_api, env, "chart") if e.reason == "RolledOut"), None),
        timeout=30,
        what="a RolledOut Event on the chart Deployment",
    )
    assert event.type == "Normal" and event.involved_object.kind == "Deployment"
    assert "IronflowSecret app" in event.message
    assert not [e for e in events_for(k8s_api, env, "bystander") if e.reason == "RolledOut"]

    wanted = f"rolled Deployment {env}/chart"
    log_line = eventually(
        lambda: next((line for line in operator.logs().splitlines() if wanted in line), None),
        timeout=30,
        what="the rollout's log line",
    )
    assert "INFO" in log_line and "IronflowSecret app" in log_line
    assert operator.current.metric('ironflow_rollouts_total{kind="Deployment"}') == rollouts_before + 1

    scanned = [
        log_line,
        operator.current.metrics(),
        json.dumps([k8s_api.sanitize_for_serialization(e) for e in events_for(k8s_api, env)]),
        json.dumps(k8s_api.sanitize_for_serialization(read(k8s_api, env, "chart"))),
    ]
    assert not [text for text in scanned if canary in text]
