"""Prometheus metrics. Labels carry kinds, reasons, modes and verbs: never a name's value, and not
even names (an unbounded label set is an outage of its own).

No `_created` series: they double the series count of every counter and histogram, and alerting
uses `rate()`, which never needs them. The process collector (memory, CPU, open fds) is
registered on our registry, because /metrics serves this registry and not the global one.
"""

from __future__ import annotations

import platform
from types import MappingProxyType
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from ironflow import __version__

# Before any metric is made: the flag is read when a metric is created.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

UNSEAL = Counter("ironflow_unseal_total", "Unseal attempts by outcome (Unsealed or the failure reason).",
                 ["outcome"], registry=REGISTRY)
RECONCILE = Histogram("ironflow_reconcile_duration_seconds", "Time to reconcile one resource.", ["kind"],
                      registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
RECONCILE_ERRORS = Counter("ironflow_reconcile_errors_total", "Reconciles that failed and were retried.",
                           ["kind"], registry=REGISTRY)
API_WRITES = Counter("ironflow_api_writes_total", "Writes the operator sent to the API server.",
                     ["resource", "verb"], registry=REGISTRY)
OBJECTS = Gauge("ironflow_objects", "Resources by kind and Ready condition reason.",
                ["kind", "ready", "reason"], registry=REGISTRY)
MODE = Gauge("ironflow_master_key_mode",
             "1 for the current master-key mode (keyed, dev, no-key, invalid-key).",
             ["mode"], registry=REGISTRY)
QUEUE_DEPTH = Gauge("ironflow_queue_depth", "Reconciles queued or running.", registry=REGISTRY)
STALE_REQUEUED = Counter("ironflow_stale_requeued_total",
                         "Resources found with a status behind their spec and no work queued, queued "
                         "again by the periodic sweep (controller/stale.py): each one is a lost event.",
                         ["kind"], registry=REGISTRY)
# -- rollouts (controller/rollouts.py) --
ROLLOUTS = Counter("ironflow_rollouts_total", "Workload rollouts the operator triggered, by workload kind.",
                   ["kind"], registry=REGISTRY)
# -- end rollouts --
# -- shares (controller/shares.py, with --sharding) --
SHARE_NAMESPACES = Gauge("ironflow_share_namespaces", "Served namespaces this replica owns and writes.",
                         registry=REGISTRY)
SHARE_RESOURCES = Gauge("ironflow_share_resources",
                        "IronflowSecrets and IronflowConfigs in the namespaces this replica owns.",
                        registry=REGISTRY)
SHARE_REPLICAS = Gauge("ironflow_share_replicas", "Live replicas in this replica's view (itself included).",
                       registry=REGISTRY)
SHARE_HANDOVERS = Counter("ironflow_share_handovers_total",
                          "Namespaces this replica gained or released, by direction (gained, released).",
                          ["direction"], registry=REGISTRY)
SHARE_PAUSED = Gauge("ironflow_share_paused",
                     "1 while this replica writes no namespace because the leader Lease is not held by "
                     "a replica that shards (a rolling upgrade from a version without sharding).",
                     registry=REGISTRY)
# -- end shares --
TASK_RESTARTS = Counter("ironflow_task_restarts_total",
                        "Restarts of the operator's long-running tasks after an exception or an "
                        "unexpected end, by task name (controller/supervisor.py).",
                        ["task"], registry=REGISTRY)
BUILD = Gauge("ironflow_build_info", "Build information.", ["version", "python"], registry=REGISTRY)
CRDS_OUTDATED = Gauge("ironflow_crds_outdated",
                      "Ironflow CRDs in the cluster older than the operator (ironflow.io/crd-version) or "
                      "missing: apply crds/ of the operator's release.", registry=REGISTRY)
ADMISSIONS = Counter("ironflow_webhook_admissions_total",
                     "Pod admission reviews by webhook (declarations, enforcement) and outcome "
                     "(allowed, refused, error: the environment could not be read, so the pod was refused).",
                     ["webhook", "outcome"], registry=REGISTRY)
ADMISSION_SECONDS = Histogram("ironflow_webhook_admission_duration_seconds",
                              "Time to decide one pod admission review (the API server gives up after 5 s).",
                              ["webhook"], registry=REGISTRY,
                              buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

AdmissionOutcome = Literal["allowed", "refused", "error"]
for _webhook in ("declarations", "enforcement"):  # every series from the start: rate() needs a 0 before the 1
    ADMISSION_SECONDS.labels(webhook=_webhook)
    for _outcome in ("allowed", "refused", "error"):
        ADMISSIONS.labels(webhook=_webhook, outcome=_outcome)


def build_info() -> None:
    BUILD.labels(version=__version__, python=platform.python_version()).set(1)


def set_mode(mode: str) -> None:
    for known in ("keyed", "dev", "no-key", "invalid-key"):
        MODE.labels(mode=known).set(1 if known == mode else 0)


class ObjectCounts:
    """The counts behind `ironflow_objects`: each resource's Ready condition as last recorded.

    One per operator runtime (controller/state.py), not per module: the gauge is process-wide,
    the resources it counts belong to the operator that reconciles them."""

    def __init__(self) -> None:
        self._conditions: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self._counts: dict[tuple[str, str, str], int] = {}

    def record(self, key: tuple[str, str, str], ready: str | None, reason: str | None) -> None:
        """Track one resource's Ready condition (None when the resource is gone).

        Counts move by one per call, so a reconcile costs the same with ten resources or ten
        thousand; a series whose count reaches zero is removed rather than left at 0."""
        old = self._conditions.get(key)
        new = None if ready is None or reason is None else (key[0], ready, reason)
        if old == new:
            return
        counts = self._counts
        if old is not None:
            del self._conditions[key]
            counts[old] -= 1
            if counts[old]:
                OBJECTS.labels(*old).set(counts[old])
            else:
                del counts[old]
                OBJECTS.remove(*old)
        if new is not None:
            self._conditions[key] = new
            counts[new] = counts.get(new, 0) + 1
            OBJECTS.labels(*new).set(counts[new])


def record_admission(webhook: str, outcome: AdmissionOutcome, seconds: float) -> None:
    """One admission decision; `webhook` is one of two fixed names, never anything from the pod."""
    ADMISSIONS.labels(webhook=webhook, outcome=outcome).inc()
    ADMISSION_SECONDS.labels(webhook=webhook).observe(seconds)


_SUFFIXES = MappingProxyType({"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
                              "info": ("_info",)})


def series_names() -> set[str]:
    """Every series name /metrics can carry, sampled yet or not: what dashboards and alerts may query."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def exposition() -> bytes:
    return generate_latest(REGISTRY)
