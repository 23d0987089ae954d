"""Prometheus metrics. Labels carry kinds, reasons, modes and verbs: never a name's value, and not
even names (an unbounded label set is an outage of its own)."""

from __future__ import annotations

import platform
from importlib import metadata

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

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
BUILD = Gauge("ironflow_build_info", "Build information.", ["version", "python"], registry=REGISTRY)

_conditions: dict[tuple[str, str, str], tuple[str, str, str]] = {}
_counts: dict[tuple[str, str, str], int] = {}


def build_info() -> None:
    try:
        version = metadata.version("ironflow")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        version = "unknown"
    BUILD.labels(version=version, python=platform.python_version()).set(1)


def set_mode(mode: str) -> None:
    for known in ("keyed", "dev", "no-key", "invalid-key"):
        MODE.labels(mode=known).set(1 if known == mode else 0)


def record_condition(key: tuple[str, str, str], ready: str | None, reason: str | None) -> None:
    """Track one resource's Ready condition (None when the resource is gone).

    Counts move by one per call, so a reconcile costs the same with ten resources or ten
    thousand; a series whose count reaches zero is removed rather than left at 0."""
    old = _conditions.get(key)
    new = None if ready is None or reason is None else (key[0], ready, reason)
    if old == new:
        return
    if old is not None:
        del _conditions[key]
        _counts[old] -= 1
        if _counts[old]:
            OBJECTS.labels(*old).set(_counts[old])
        else:
            del _counts[old]
            OBJECTS.remove(*old)
    if new is not None:
        _conditions[key] = new
        _counts[new] = _counts.get(new, 0) + 1
        OBJECTS.labels(*new).set(_counts[new])


def exposition() -> bytes:
    return generate_latest(REGISTRY)
