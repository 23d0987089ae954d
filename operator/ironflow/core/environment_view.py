"""An environment's IronflowSecrets and IronflowConfigs, seen as names -> projected object + version.

The webhook (where does DB_PASSWORD come from?) and the rollout controller (did its value
change?) must agree with the operator on who owns a name, so both build this view from the same
listed resources through `core.environment.resolve`. Only names, creation times and status facts
are read: values never enter this module.

A name's `version` is present once its projected object held a value of it: the operator writes
the object first and the status after, so a version in status means the value is there for the
kubelet to read. A name without one has a `Pending` fact saying why (the status's own reason and
message, or that the operator has not reported on the resource's current generation yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ironflow.core.declarations import Kind
from ironflow.core.environment import Definer, Environment, resolve
from ironflow.core.model import CONFIG_KIND, SECRET_KIND, spec_names
from ironflow.core.model import Kind as ResourceKind

RESOURCE_KIND: Mapping[Kind, ResourceKind] = {"secret": SECRET_KIND, "config": CONFIG_KIND}


@dataclass(frozen=True)
class EnvironmentView:
    namespace: str
    owners: Mapping[Kind, Environment]
    versions: Mapping[tuple[Kind, str], str]  # (kind, NAME) -> version token of the winning resource
    resources: Mapping[Kind, frozenset[str]]  # every resource's name: each projects an object so named
    # (kind, resource) whose same-named object exists but belongs to someone else (OwnershipConflict)
    foreign: frozenset[tuple[Kind, str]] = frozenset()
    # Secrets a pod refers to outside its declaration that do not exist (only filled for the
    # enforcement check, core/enforcement.py): a future IronflowSecret could take their names.
    missing_secrets: frozenset[str] = frozenset()
    # kind -> resource -> that resource's uid, so the webhook can ask whether the object a pod would
    # read is owned by it without scanning the namespace's resources for each pod (nested rather
    # than keyed by tuples: no tuple per resource; the uid strings are the listed ones, shared)
    uids: Mapping[Kind, Mapping[str, str]] = field(default_factory=dict)
    # (kind, NAME) -> why the winning resource's status does not show the name plainly projected;
    # only names with a problem are kept (most have none), so a large environment costs nothing
    problems: Mapping[tuple[Kind, str], NameProblem] = field(default_factory=dict)

    def source(self, kind: Kind, name: str) -> str | None:
        """The projected Secret/ConfigMap name (same as the defining resource) or None if undefined."""
        return self.owners[kind].owner(name)

    def is_foreign(self, kind: Kind, resource: str) -> bool:
        """True when the object a pod would read is not the one Ironflow projects."""
        return (kind, resource) in self.foreign

    def version(self, kind: Kind, name: str) -> str | None:
        """None when the name is defined but the operator has not reported a version yet."""
        return self.versions.get((kind, name))

    def problem(self, kind: Kind, name: str) -> NameProblem | None:
        """Why the name is not plainly projected, or None when its status shows it projected."""
        return self.problems.get((kind, name))

    def settled(self, kind: Kind, name: str) -> bool:
        """False when the status may simply trail: no version and the status does not describe the
        resource's current generation (a reader holding a cache should look again, live)."""
        problem = self.problems.get((kind, name))
        return problem is None or problem.current or (kind, name) in self.versions


@dataclass(frozen=True)
class NameProblem:
    """The status fact of a name that is not plainly projected: never a value."""

    state: str  # Failed, Conflict, Pending (as status shows it), or Unreported (no fact yet)
    reason: str
    message: str
    current: bool  # the status describes the resource's current generation


def build_view(
    namespace: str,
    secrets: Iterable[Mapping[str, Any]],
    configs: Iterable[Mapping[str, Any]],
    foreign: Iterable[tuple[str, str]] = (),
) -> EnvironmentView:
    owners: dict[Kind, Environment] = {}
    versions: dict[tuple[Kind, str], str] = {}
    resources: dict[Kind, frozenset[str]] = {}
    uids: dict[Kind, dict[str, str]] = {}
    problems: dict[tuple[Kind, str], NameProblem] = {}
    for kind, items in (("secret", list(secrets)), ("config", list(configs))):
        k: Kind = "secret" if kind == "secret" else "config"
        env = resolve(definer_of(k, item) for item in items)
        owners[k] = env
        resources[k] = frozenset(name_of(item) for item in items)
        by_name = {name_of(item): item for item in items}
        uids[k] = {}
        for name, item in by_name.items():
            uid = _mapping(_mapping(item).get("metadata")).get("uid")
            if isinstance(uid, str) and uid:
                uids[k][name] = uid
        for name, owner in env.owners.items():
            item = by_name.get(owner, {})
            fact = status_fact(item, name)
            version = fact.get("version")
            if isinstance(version, str) and version:
                versions[(k, name)] = version
            problem = problem_of(item, fact)
            if problem is not None:
                problems[(k, name)] = problem
    return EnvironmentView(namespace=namespace, owners=owners, versions=versions, resources=resources,
                           foreign=foreign_keys(foreign), uids=uids, problems=problems)


def foreign_keys(pairs: Iterable[tuple[str, str]]) -> frozenset[tuple[Kind, str]]:
    """(kind, resource) pairs whose projection is someone else's, kinds other than ours dropped."""
    return frozenset(("secret" if kind == "secret" else "config", resource) for kind, resource in pairs
                     if kind in ("secret", "config"))


def _mapping(value: object) -> Mapping[str, Any]:
    """The webhook reads bodies a CRD without schema may have let through: anything not an object
    counts as empty, so one malformed resource defines nothing instead of failing every pod."""
    # a plain dict first: the ABC check alone was a third of a 2,000-resource view rebuild
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def name_of(item: Mapping[str, Any]) -> str:
    return str(_mapping(_mapping(item).get("metadata")).get("name", ""))


def definer_of(kind: Kind, item: Mapping[str, Any]) -> Definer:
    meta = _mapping(_mapping(item).get("metadata"))
    return Definer(
        resource=str(meta.get("name", "")),
        created=str(meta.get("creationTimestamp", "")),
        names=spec_names(RESOURCE_KIND[kind], item),
        uid=str(meta.get("uid", "")),
    )


def status_fact(item: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return _mapping(_mapping(_mapping(_mapping(item).get("status")).get("names")).get(name))


def problem_of(item: Mapping[str, Any], fact: Mapping[str, Any]) -> NameProblem | None:
    state, version = fact.get("state"), fact.get("version")
    if state in ("Projected", None) and isinstance(version, str) and version:
        return None
    status = _mapping(_mapping(item).get("status"))
    generation = _mapping(_mapping(item).get("metadata")).get("generation")
    current = generation is not None and status.get("observedGeneration") == generation
    if not fact:
        return NameProblem("Unreported", "", "", current)
    reason, message = fact.get("reason"), fact.get("message")
    return NameProblem(str(state or "Unreported"), reason if isinstance(reason, str) else "",
                       message if isinstance(message, str) else "", current)
