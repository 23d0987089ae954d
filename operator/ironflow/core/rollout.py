"""When a workload must roll: when, and only when, the value of a name its pods declare changes.

Pods read values at start, so a changed value reaches running pods only through a rollout. The
trigger is a pod-template annotation holding a digest of the declared names' *versions* (status
tokens the operator writes, which change only when a projected value changes): never a digest of
values, which would leak a guessable fingerprint of a secret into every pod spec.

Creating a workload must cost no extra rollout, so the baseline (the versions its pods were
created with) is recorded on the workload's own metadata, which the Deployment controller does
not roll on; the template is touched only when a recorded version differs from the current one.
Names a workload starts declaring are recorded, not rolled for: the template edit that added them
already rolls it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from ironflow.core.declarations import Declaration, DeclarationError, parse_declaration
from ironflow.core.environment_view import EnvironmentView

ROLLOUT_DIGEST_ANNOTATION: Final = "ironflow.io/rollout-digest"
OBSERVED_VERSIONS_ANNOTATION: Final = "ironflow.io/observed-versions"
OPT_OUT_ANNOTATION: Final = "ironflow.io/rollout"
ABSENT: Final = "-"  # an optional (or not yet defined) name: its appearance is a change of value


def template_declaration(workload: Mapping[str, Any]) -> Declaration | None:
    """The pod template's declaration; None for nothing or a malformed one (the webhook refuses those)."""
    template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    try:
        return parse_declaration(template.get("annotations"))
    except DeclarationError:
        return None


def opted_out(workload: Mapping[str, Any]) -> bool:
    annotations = (workload.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(OPT_OUT_ANNOTATION, "")).strip().lower() == "false"


def current_versions(declaration: Declaration, view: EnvironmentView) -> dict[str, str | None]:
    """kind/NAME -> version; ABSENT for an undefined optional name; None when undecidable.

    A required name that is undefined is undecidable rather than a change: rolling would only
    replace running pods with pods the webhook must refuse, so the workload keeps what it runs.
    """
    out: dict[str, str | None] = {}
    for d in declaration.names:
        key = f"{d.kind}/{d.name}"
        if view.source(d.kind, d.name) is None:
            out[key] = ABSENT if d.optional else None
        else:
            out[key] = view.version(d.kind, d.name)
    return out


def versions_digest(versions: Mapping[str, str]) -> str:
    canonical = json.dumps(sorted(versions.items()), separators=(",", ":"))
    return hashlib.sha256(b"ironflow/v1/rollout\0" + canonical.encode()).hexdigest()[:16]


def plan_rollout(workload: Mapping[str, Any], view: EnvironmentView) -> dict[str, Any] | None:
    """A merge patch for the workload, or None when nothing is to be written."""
    if opted_out(workload):
        return None
    declaration = template_declaration(workload)
    if declaration is None:
        return None
    annotations = (workload.get("metadata") or {}).get("annotations") or {}
    recorded = _recorded(annotations.get(OBSERVED_VERSIONS_ANNOTATION))
    record: dict[str, str] = {}
    for key, version in current_versions(declaration, view).items():
        if version is not None:
            record[key] = version
        elif key in recorded:
            record[key] = recorded[key]  # not versioned yet: keep the baseline, decide later
    if record == recorded:
        return None
    patch: dict[str, Any] = {
        "metadata": {"annotations": {OBSERVED_VERSIONS_ANNOTATION: json.dumps(record, sort_keys=True)}}
    }
    if any(k in recorded and recorded[k] != v for k, v in record.items()):
        patch["spec"] = {
            "template": {"metadata": {"annotations": {ROLLOUT_DIGEST_ANNOTATION: versions_digest(record)}}}
        }
    return patch


def _recorded(raw: object) -> dict[str, str]:
    """A hand-edited or foreign annotation counts as no baseline: record afresh, do not roll."""
    if not isinstance(raw, str):
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}
