"""What an environment still lacks after a promotion: the gaps a chain must never hide.

Two sources, because each alone hides something. The names the source environment has (A's
secrets, which are never copied) miss a name that A lacks too: dev -> staging -> prod, with a
secret missing in both staging and prod, looks clean at the staging -> prod step. The names B's
own workloads declare (pod template annotations of Deployments, StatefulSets, DaemonSets) catch
exactly that: prod's Deployment asks for the name, so prod needs it, whatever staging has.
With `--to-dir` the workloads in the directory count too (Pods, Jobs and CronJobs included): in
GitOps the target's workloads are often in Git before, or instead of, the cluster.
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
# In files (a GitOps target directory) every kind that ends up as pods counts: what Git will apply.
FILE_WORKLOAD_KINDS: Final = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                                        "CronJob", "Pod"})


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def workload_spec(workload: Mapping[str, Any]) -> object:
    """A workload's (or a job template's) own spec: not an Ironflow resource's, which `spec_of` reads."""
    return workload.get("spec")


def pod_metadata(kind: str, workload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metadata its pods get: the pod's own, a CronJob's job template's, else the pod template's."""
    if kind == "Pod":
        return _map(workload.get("metadata"))
    spec = _map(workload_spec(workload))
    if kind == "CronJob":
        job: Mapping[str, Any] = _map(spec.get("jobTemplate"))
        spec = _map(workload_spec(job))
    return _map(_map(spec.get("template")).get("metadata"))


def declared_by_workloads(
    workloads: Iterable[tuple[str, Mapping[str, Any]]],
    files: Iterable[tuple[str, Mapping[str, Any], str]] = (),
) -> dict[tuple[str, str], list[str]]:
    """(kind, NAME) -> ["Deployment web", "Job seed (jobs.yaml)", ...] for every required name a
    pod template declares; `files` are workloads read from manifests, named with their file."""
    out: dict[tuple[str, str], list[str]] = {}
    labelled = [(kind, obj, "") for kind, obj in workloads] + [(k, o, f" ({f})") for k, o, f in files]
    for kind, obj, origin in labelled:
        template = pod_metadata(kind, obj)
        try:
            declaration = parse_declaration(template.get("annotations") or {})
        except DeclarationError:
            continue  # the webhook refuses its pods anyway, with the reason
        if declaration is None:
            continue
        who = f"{kind} {_map(obj.get('metadata')).get('name')}{origin}"
        for d in declaration.names:
            if not d.optional and who not in out.get((d.kind, d.name), []):
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
