"""Health, readiness, Prometheus metrics and JSON logs of a running operator."""

from __future__ import annotations

import json
import re

from kubernetes import client
from operator_fixtures import Operator, apply_cr, new_key, sealed, wait_ready

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures"]
SECRET = "IronflowSecret"


def test_given_running_operator_when_probed_and_scraped_then_health_and_metrics_by_reason(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    run = operator.start("--log-format=json")
    assert run.http(run.health_port, "/healthz")[0] == 200
    assert run.http(run.health_port, "/readyz")[0] == 200
    apply_cr(k8s_api, SECRET, namespace, "good", {"A": sealed(key, namespace, "A", "a")})
    apply_cr(k8s_api, SECRET, namespace, "bad", {"B": sealed(new_key(), namespace, "B", "b")})
    wait_ready(k8s_api, SECRET, namespace, "good")
    wait_ready(k8s_api, SECRET, namespace, "bad", reason="UnsealFailed")

    def scraped() -> str | None:
        text = run.metrics()
        wanted = (
            'ironflow_objects{kind="IronflowSecret",ready="False",reason="UnsealFailed"} 1.0',
            'ironflow_objects{kind="IronflowSecret",ready="True",reason="Projected"} 1.0',
        )
        return text if all(w in text for w in wanted) else None

    text = eventually(scraped, what="objects by condition in /metrics")
    assert 'ironflow_master_key_mode{mode="keyed"} 1.0' in text
    assert run.metric('ironflow_unseal_total{outcome="WrongKey"}') >= 1
    assert run.metric('ironflow_unseal_total{outcome="Unsealed"}') >= 1
    assert run.metric("ironflow_reconcile_duration_seconds_count") >= 2
    assert "ironflow_build_info{" in text

    lines = [line for line in run.output().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    assert any(r["logger"] == "ironflow.projector" for r in records)
