"""What an environment still lacks after a promotion: the gaps a chain must never hide.

Two sources, because each alone hides something. The names the source environment has (A's
secrets, which are never copied) miss a name that A lacks too: dev -> staging -> prod, with a
secret missing in both staging and prod, looks clean at the staging -> prod step. The names B's
own workloads declare (pod template annotations of Deployments, StatefulSets, DaemonSets) catch
exactly that: prod's Deployment asks for the name, so prod needs it, whatever staging has.
Optional declarations (`NAME?`) are not gaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ironflow.core.declarations import DeclarationError, parse_declaration

WORKLOADS: Final = (
    ("deployments", "Deployment"),
    ("statefulsets", "StatefulSet"),
    ("daemonsets", "DaemonSet"),
)


def declared_by_workloads(
    workloads: Iterable[tuple[str, Mapping[str, Any]]],
) -> dict[tuple[str, str], list[str]]:
    """(kind, NAME) -> ["Deployment web", ...] for every required name a pod template declares."""
    out: dict[tuple[str, str], list[str]] = {}
    for kind, workload in workloads:
        template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
        try:
            declaration = parse_declaration(template.get("annotations") or {})
        except DeclarationError:
            continue  # the webhook refuses its pods anyway, with the reason
        if declaration is None:
            continue
        who = f"{kind} {(workload.get('metadata') or {}).get('name')}"
        for d in declaration.names:
            if not d.optional:
                out.setdefault((d.kind, d.name), []).append(who)
    return out


def gaps(
    source: str,
    source_secrets: set[str],
    target_secrets: set[str],
    target_configs_after: set[str],
    declared: Mapping[tuple[str, str], list[str]],
) -> list[dict[str, Any]]:
    """Each missing name once, with every reason it is needed."""
    needed: dict[tuple[str, str], list[str]] = {}
    for name in source_secrets - target_secrets:
        needed.setdefault(("secret", name), []).append(f"defined in {source}")
    for (kind, name), who in declared.items():
        have = target_secrets if kind == "secret" else target_configs_after
        if name not in have:
            needed.setdefault((kind, name), []).extend(f"declared by {w}" for w in who)
    return [
        {"kind": kind, "name": name, "neededBy": reasons} for (kind, name), reasons in sorted(needed.items())
    ]
