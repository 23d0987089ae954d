"""Are the cluster's CRDs as new as the operator? Helm installs a chart's crds/ once and never
upgrades them, so an upgrade that skips `kubectl apply -f crds/` leaves the old schema in place
(new fields pruned, new rules missing) with nothing failing loudly. Each CRD names the release it
comes from (annotation ironflow.io/crd-version); the operator compares it with its own version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ironflow.core.model import CRD_VERSION_ANNOTATION

_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def release(version: str) -> tuple[int, int, int] | None:
    """`X.Y.Z` as numbers; None for anything else (a development build, a typo)."""
    found = _RELEASE.match(version.strip())
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def crd_version(crd: Mapping[str, Any]) -> str | None:
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(CRD_VERSION_ANNOTATION)
    return str(value) if value else None


def compare(crd: Mapping[str, Any], operator_version: str) -> tuple[str, str]:
    """("current" | "older" | "newer" | "unknown", a sentence for the log: no values, names only)."""
    name = (crd.get("metadata") or {}).get("name", "?")
    have = crd_version(crd)
    mine = release(operator_version)
    if have is None:
        return "older", (f"CRD {name} has no {CRD_VERSION_ANNOTATION} annotation (installed by a release "
                         f"before 0.2.0): apply crds/ of {operator_version} (docs/install.md, Upgrades)")
    theirs = release(have)
    if mine is None or theirs is None:
        return "unknown", f"CRD {name} is from {have}, the operator is {operator_version}: cannot compare"
    if theirs < mine:
        return "older", (f"CRD {name} is from {have}, older than the operator ({operator_version}): "
                         f"apply crds/ of {operator_version} (docs/install.md, Upgrades)")
    if theirs > mine:
        return "newer", (f"CRD {name} is from {have}, newer than the operator ({operator_version}): "
                         "fields this operator does not know are kept but not acted on")
    return "current", f"CRD {name} is from {have}, as the operator"
