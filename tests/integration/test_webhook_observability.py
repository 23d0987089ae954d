"""The pod webhook as Prometheus and the user see it: admissions by outcome and latency on /metrics,
process metrics and no `_created` series, and admission warnings that `kubectl` would print."""

from __future__ import annotations

import re

from kubernetes import client
from operator_fixtures import OperatorProcess
from webhook_fixtures import pod_manifest

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]


def _create(api: client.ApiClient, namespace: str, annotations: dict[str, str]) -> tuple[int, list[str]]:
    """(HTTP status, admission warnings) of a server-side dry run, the way kubectl would send it."""
    warnings: list[str] = []
    try:
        _, status, headers = client.CoreV1Api(api).create_namespaced_pod_with_http_info(
            namespace, pod_manifest("observed", annotations), dry_run="All"
        )
    except client.ApiException as error:
        return error.status, []
    for key, value in (headers or {}).items():
        if key.lower() == "warning":
            warnings.append(value)
    return status, warnings


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_given_admissions_when_scraped_then_counted_by_outcome_timed_and_process_metrics_present(
    k8s_api: client.ApiClient, namespace: str, pod_webhook: OperatorProcess
) -> None:
    before = pod_webhook.metrics()
    annotations = {"ironflow.io/configs": "ABSENT?", "ironflow.io/secret": "X"}
    status, warnings = _create(k8s_api, namespace, annotations)
    assert status == 201
    assert any("ironflow.io/secret is not an Ironflow annotation" in w and "ironflow.io/secrets?" in w
               for w in warnings), warnings
    assert _create(k8s_api, namespace, {"ironflow.io/secrets": "MISSING"})[0] == 403

    def scraped() -> str | None:
        text = pod_webhook.metrics()
        grew = all(
            _sample(text, "ironflow_webhook_admissions_total", webhook="declarations", outcome=o)
            > _sample(before, "ironflow_webhook_admissions_total", webhook="declarations", outcome=o)
            for o in ("allowed", "refused")
        )
        return text if grew else None

    text = eventually(scraped, what="admissions by outcome on /metrics")
    assert _sample(text, "ironflow_webhook_admission_duration_seconds_count", webhook="declarations") >= 2
    for family in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"):
        assert re.search(rf"^{family} \S+$", text, flags=re.M), family
    assert "_created" not in text
