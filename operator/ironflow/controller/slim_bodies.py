"""What of a CR body the operator's cache keeps: everything a reconcile or a rollout reads, minus
what costs most and nobody reads, with keys and short strings shared between bodies."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from ironflow.core.model import API_VERSION, Kind

# What no reader of the cache needs, and what costs most per body: the server's field ownership
# records (one nested dict per field per manager) and kubectl's copy of the whole last applied
# object. Measured at 200 resources: 11 KB per cached body before, see docs/benchmarks.md.
DROPPED_METADATA = ("managedFields",)
DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
_SHORT = 40  # string values up to this length are interned: states, reasons, times, kinds


def _compact(value: Any) -> Any:
    """A private copy with keys (and short strings) interned: thousands of bodies share one copy of
    "metadata", "Projected", "True"... instead of each holding its own, and kopf's event body is
    not kept alive by the cache."""
    if isinstance(value, Mapping):
        return {sys.intern(str(k)): _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, str) and len(value) <= _SHORT:
        return sys.intern(value)
    return value


def slim(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    """The CR body as the cache keeps it: all a reconcile or a rollout reads."""
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k not in DROPPED_METADATA}
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping) and any(a in annotations for a in DROPPED_ANNOTATIONS):
        meta["annotations"] = {k: v for k, v in annotations.items() if k not in DROPPED_ANNOTATIONS}
    out = {k: v for k, v in body.items() if k not in ("metadata", "apiVersion", "kind")}
    compact: dict[str, Any] = _compact({**out, "metadata": meta})
    compact["apiVersion"], compact["kind"] = API_VERSION, kind
    return compact
