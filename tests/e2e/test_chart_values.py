"""The chart's values schema, monitoring objects and defaults, as `helm lint`/`helm template` see them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import CHART, clean_env

from ironflow import metrics
from ironflow_testbed import K8S_VERSION

SYSTEM = "kube-system,kube-public,kube-node-lease"


def _helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=60, env=clean_env(), check=False
    )


def _template(helm: Path, *values: str) -> list[dict[str, Any]]:
    args = ["template", "ironflow", str(CHART), "--namespace", "ironflow-system"]
    args += ["--kube-version", K8S_VERSION]
    for value in values:
        args += ["--set", value]
    result = _helm(helm, *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("workres=3", "additional properties 'workres' not allowed"),
        ("metrics.enabeld=false", "additional properties 'enabeld' not allowed"),
        ("workers=abc", "/workers"),
        ("logging.format=xml", "/logging/format"),
        ("webhook.failurePolicy=1", "/webhook/failurePolicy"),  # Ignore: the chart's own message (test_chart)
    ],
)
def test_given_bad_value_when_linted_or_templated_then_helm_refuses_it(
    helm: Path, value: str, complaint: str
) -> None:
    lint = _helm(helm, "lint", str(CHART), "--set", value)
    template = _helm(helm, "template", "x", str(CHART), "--kube-version", K8S_VERSION, "--set", value)
    for result in (lint, template):
        assert result.returncode != 0, result.stdout
        assert complaint in result.stdout + result.stderr


def test_given_defaults_when_templated_then_no_monitoring_objects_and_system_namespaces_excluded(
    helm: Path,
) -> None:
    docs = _template(helm)
    assert not {"ServiceMonitor", "PrometheusRule"} & {d["kind"] for d in docs}
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--sealing-key-excluded-namespaces={SYSTEM}" in args


def test_given_monitoring_enabled_when_templated_then_servicemonitor_scrapes_the_metrics_service(
    helm: Path,
) -> None:
    docs = _template(
        helm, "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"
    )
    [monitor] = [d for d in docs if d["kind"] == "ServiceMonitor"]
    services = [d for d in docs if d["kind"] == "Service"]
    wanted = monitor["spec"]["selector"]["matchLabels"].items()
    selected = [s for s in services if wanted <= s["metadata"]["labels"].items()]
    assert [s["metadata"]["name"] for s in selected] == ["ironflow-operator-metrics"]
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["metadata"]["labels"]["release"] == "prom"


def test_given_alerts_enabled_when_templated_then_every_alert_queries_series_the_operator_exports(
    helm: Path,
) -> None:
    docs = _template(
        helm, "metrics.prometheusRule.enabled=true", "metrics.prometheusRule.webhookLatencySeconds=2"
    )
    [rule] = [d for d in docs if d["kind"] == "PrometheusRule"]
    alerts = {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert {
        "IronflowOperatorDown", "IronflowUnsealFailures", "IronflowWebhookRefusals", "IronflowWebhookSlow",
        "IronflowNamesOnRetiredKey", "IronflowTaskRestarting", "IronflowLostEvents",
    } <= set(alerts)
    used = set(re.findall(r"\b(ironflow_[a-z_]+)\b", "\n".join(alerts.values())))
    assert used <= metrics.series_names(), used - metrics.series_names()
    assert re.search(r"> 2\s*$", alerts["IronflowWebhookSlow"])
    assert 'job="ironflow-operator-metrics"' in alerts["IronflowOperatorDown"]
