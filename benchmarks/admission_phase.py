"""The benchmark's admission phase: what the pod webhook adds to creating a pod.

Pods are created through the API server, which calls the operator's webhook over TLS (URL mode
on loopback, as in `make run`) for every pod that declares names. The same number of plain pods
in a namespace without declarations (the webhook is not called for them: matchConditions) gives
the baseline; the ratio of the two rates is the webhook's cost, the operator's own API requests
per declaring pod come from the audit log, and the webhook's latency from the API server's own
histogram (`webhook_latency`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client

from ironflow_testbed.audit import AuditLog

READS = ("get", "list")
WEBHOOK_HISTOGRAM = "apiserver_admission_webhook_admission_duration_seconds"
DECLARATIONS_WEBHOOK = "declarations.pods.ironflow.io"  # webhook/configuration.py
_SAMPLE = re.compile(r"^(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def pod(name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
            "automountServiceAccountToken": False,
        },
    }


def measure(
    api: client.ApiClient,
    audit: AuditLog,
    user: str,
    namespaces: tuple[str, str],
    declared: dict[str, str],
    pods: int,
    parallel: Callable[[Iterable[Callable[[], Any]]], float],
    wait: Callable[[Callable[[], bool], float, str], float],
) -> dict[str, Any]:
    """`namespaces`: (served environment, plain namespace); the webhook must already be registered."""
    core = client.CoreV1Api(api)
    served, plain = namespaces
    for ns in namespaces:
        wait(lambda ns=ns: _has_default_account(core, ns), 60, f"default ServiceAccount in {ns}")

    def injected() -> bool:
        try:
            out = core.create_namespaced_pod(served, pod("probe", declared), dry_run="All")
        except client.ApiException:
            return False
        return "ironflow.io/injected" in (out.metadata.annotations or {})

    wait(injected, 60, "the API server to call the pod webhook")
    plain_time = parallel(
        lambda i=i: core.create_namespaced_pod(plain, pod(f"plain-{i}", {})) for i in range(pods)
    )
    before = _reads(audit, user, served)
    histogram_before = apiserver_metrics(api)
    declaring_time = parallel(
        lambda i=i: core.create_namespaced_pod(served, pod(f"declaring-{i}", declared)) for i in range(pods)
    )
    last = f"declaring-{pods - 1}"
    audit.wait_for(verb="create", resource="pods", namespace=served, name=last, timeout=30)
    reads = _reads(audit, user, served) - before
    return {
        "pods": pods,
        "plain_rate": pods / plain_time,
        "declaring_rate": pods / declaring_time,
        "reads": reads,
        # the declaring pods' webhook calls as the API server timed them: count, p50, p99 (seconds)
        "webhook": webhook_latency(apiserver_metrics(api), baseline=histogram_before),
    }


def _has_default_account(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespaced_service_account("default", namespace)
    except client.ApiException:
        return False
    return True


def _reads(audit: AuditLog, user: str, namespace: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for event in audit.events(user=user, namespace=namespace):
        if event.verb in READS:
            found[f"{event.verb} {event.resource}"] += 1
    return found


def apiserver_metrics(api: client.ApiClient) -> str:
    """The API server's own /metrics text (the benchmark's admin client may read it)."""
    params = api.param_serialize(method="GET", resource_path="/metrics", auth_settings=["BearerToken"])
    response = api.call_api(*params)
    response.read()
    return str(response.data.decode())


def webhook_latency(
    metrics_text: str, webhook: str = DECLARATIONS_WEBHOOK, baseline: str | None = None
) -> dict[str, float]:
    """count, p50 and p99 (seconds) of one webhook, as the API server's own histogram records them.

    Reads `apiserver_admission_webhook_admission_duration_seconds` from the API server's /metrics
    text, sums the buckets of every series of that webhook (operations, rejected or not), and takes
    each quantile by linear interpolation inside the bucket it falls in (as PromQL's
    histogram_quantile does; from 0 for the first bucket). The bucket bounds limit the precision:
    the API server's bounds are 5 ms, 25 ms, 100 ms, 0.5 s ..., so "p99 under 10 ms" can only be
    read as "p99 in the first bucket (<= 5 ms)" or an interpolated figure inside (5, 25] ms. A
    quantile in the +Inf bucket is reported as the highest finite bound. With `baseline` (an
    earlier /metrics text of the same API server) only the calls made since count. No calls:
    count 0 and NaN quantiles.
    """
    buckets = _buckets(metrics_text, webhook)
    if baseline is not None:
        before = _buckets(baseline, webhook)
        buckets = {bound: n - before.get(bound, 0.0) for bound, n in buckets.items()}
    bounds = sorted(buckets)
    count = buckets.get(math.inf, buckets[bounds[-1]] if bounds else 0.0)
    return {"count": count, "p50": _quantile(0.5, bounds, buckets, count),
            "p99": _quantile(0.99, bounds, buckets, count)}


def _buckets(metrics_text: str, webhook: str) -> dict[float, float]:
    """upper bound -> cumulative count, summed over the webhook's series."""
    buckets: dict[float, float] = {}
    for line in metrics_text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match["metric"] != f"{WEBHOOK_HISTOGRAM}_bucket":
            continue
        labels = {m["key"]: m["value"] for m in _LABEL.finditer(match["labels"] or "")}
        if labels.get("name") != webhook or "le" not in labels:
            continue
        bound = math.inf if labels["le"] == "+Inf" else float(labels["le"])
        buckets[bound] = buckets.get(bound, 0.0) + float(match["value"])
    return buckets


def _quantile(q: float, bounds: list[float], cumulative: dict[float, float], count: float) -> float:
    if count <= 0:
        return math.nan
    rank = q * count
    lower, below = 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bound: all that can be said
            inside = cumulative[bound] - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative[bound]
    return lower
