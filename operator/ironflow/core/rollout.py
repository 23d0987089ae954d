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

A workload that reads a projected object whole (a chart's `existingSecret`) declares nothing its
pods could be checked for, so it opts in by resource instead: `ironflow.io/rollout-on: "app"` on
its metadata tracks one version per named IronflowSecret/IronflowConfig, a digest of the versions
of every name that resource projects, so any value of that object changing rolls it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ironflow.core.declarations import Declaration, DeclarationError, Kind, parse_declaration
from ironflow.core.environment_view import EnvironmentView

ROLLOUT_DIGEST_ANNOTATION: Final = "ironflow.io/rollout-digest"
OBSERVED_VERSIONS_ANNOTATION: Final = "ironflow.io/observed-versions"
OPT_OUT_ANNOTATION: Final = "ironflow.io/rollout"
ROLLOUT_ON_ANNOTATION: Final = "ironflow.io/rollout-on"
ABSENT: Final = "-"  # an optional (or not yet defined) name: its appearance is a change of value
RESOURCE_KINDS: Final[tuple[tuple[Kind, str], ...]] = (
    ("secret", "IronflowSecret"), ("config", "IronflowConfig"))
_RESOURCE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def template_declaration(workload: Mapping[str, Any]) -> Declaration | None:
    """The pod template's declaration; None for nothing or a malformed one (the webhook refuses those)."""
    template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    try:
        return parse_declaration(template.get("annotations"))
    except DeclarationError:
        return None


def rollout_on(workload: Mapping[str, Any]) -> tuple[str, ...]:
    """The resources named by `ironflow.io/rollout-on`; entries that cannot be resource names are ignored."""
    raw = ((workload.get("metadata") or {}).get("annotations") or {}).get(ROLLOUT_ON_ANNOTATION)
    if not isinstance(raw, str):
        return ()
    names = (n.strip() for n in raw.split(","))
    return tuple(sorted({n for n in names if len(n) <= 253 and _RESOURCE_NAME.match(n)}))


def tracks(workload: Mapping[str, Any]) -> bool:
    """Whether rollouts concern this workload at all: it declares names or opts in by resource."""
    return (template_declaration(workload) is not None or bool(rollout_on(workload))) and not opted_out(
        workload
    )


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


def resource_versions(resources: tuple[str, ...], view: EnvironmentView) -> dict[str, str | None]:
    """Kind/resource -> one version for everything its projected object holds (ABSENT: no such resource).

    A resource named in `rollout-on` may be an IronflowSecret, an IronflowConfig or both (both are
    called `app` by default), so both are tracked; a kind that has no resource of that name is
    ABSENT, and one appearing later counts as a change. None while a name it projects has no
    version yet (the operator has not reported it): undecidable, the baseline is kept.
    """
    out: dict[str, str | None] = {}
    for resource in resources:
        for k, kind_name in RESOURCE_KINDS:
            key = f"{kind_name}/{resource}"
            if resource not in view.resources.get(k, frozenset()):
                out[key] = ABSENT
                continue
            owned = [n for n, owner in view.owners[k].owners.items() if owner == resource]
            versions = {n: view.version(k, n) for n in owned}
            out[key] = None if any(v is None for v in versions.values()) else versions_digest(
                {n: v for n, v in versions.items() if v is not None})
    return out


def versions_digest(versions: Mapping[str, str]) -> str:
    canonical = json.dumps(sorted(versions.items()), separators=(",", ":"))
    return hashlib.sha256(b"ironflow/v1/rollout\0" + canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RolloutPlan:
    """The merge patch, and the tracked keys (`secret/NAME`, `IronflowSecret/app`) whose version moved."""

    patch: dict[str, Any]
    changed: tuple[str, ...]
    digest: str = ""  # the pod-template annotation that rolls the workload; "" when it does not roll

    @property
    def rolls(self) -> bool:
        return "spec" in self.patch


def plan(workload: Mapping[str, Any], view: EnvironmentView) -> RolloutPlan | None:
    """What to write on the workload, or None when nothing is to be written."""
    if not tracks(workload):
        return None
    declaration = template_declaration(workload)
    current = current_versions(declaration, view) if declaration is not None else {}
    current.update(resource_versions(rollout_on(workload), view))
    annotations = (workload.get("metadata") or {}).get("annotations") or {}
    recorded = _recorded(annotations.get(OBSERVED_VERSIONS_ANNOTATION))
    record: dict[str, str] = {}
    for key, version in current.items():
        if version is not None:
            record[key] = version
        elif key in recorded:
            record[key] = recorded[key]  # not versioned yet: keep the baseline, decide later
    if record == recorded:
        return None
    patch: dict[str, Any] = {
        "metadata": {"annotations": {OBSERVED_VERSIONS_ANNOTATION: json.dumps(record, sort_keys=True)}}
    }
    changed = tuple(sorted(k for k, v in record.items() if k in recorded and recorded[k] != v))
    digest = versions_digest(record) if changed else ""
    if changed:
        patch["spec"] = {"template": {"metadata": {"annotations": {ROLLOUT_DIGEST_ANNOTATION: digest}}}}
    return RolloutPlan(patch, changed, digest)


def plan_rollout(workload: Mapping[str, Any], view: EnvironmentView) -> dict[str, Any] | None:
    """A merge patch for the workload, or None when nothing is to be written."""
    found = plan(workload, view)
    return found.patch if found is not None else None


def describe(changed: tuple[str, ...]) -> str:
    """`secret DB_PASSWORD, IronflowConfig app`: names and resources only, never values."""
    return ", ".join(key.replace("/", " ", 1) for key in changed)


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
