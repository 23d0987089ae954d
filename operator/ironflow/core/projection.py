"""Outcomes + the object that exists now -> the object that should exist, and per-name facts.

Level-based on purpose: the result depends only on the resource, the key and what is projected
now, so reconciling an unchanged resource yields "no write" and a restart costs nothing. Values
are compared as plaintext in memory; the `version` a workload rolls on is a token made of the
resource's uid and generation, assigned only when a projected value really changes, so it never
carries (or hashes) a value. A name that fails keeps its last good value: bad input or a broken
key must never blank what pods already use.

The projected object and the status are two writes, and either can land without the other (a
crash in between, a status write refused). So every write of the object also records, in its
`ironflow.io/versions` annotation, the version of each value it now holds: the annotation travels
with the data in one write, and the status is derived from it. A reconcile that finds the object
already holding the new value therefore still moves the name's version (and `lastChanged`), and
the workloads declaring it roll. Version tokens are uid and generation only: no value, no hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL, SECRET_KIND, Resource
from ironflow.core.outcomes import NameOutcome

Write = Literal["none", "create", "update", "blocked"]
OWNERSHIP_CONFLICT = "OwnershipConflict"
REQUIRED_NAME_FAILED = "RequiredNameFailed"
VERSIONS_ANNOTATION = "ironflow.io/versions"
# The keys the API server requires of a Secret of these types (its own validation rules)
REQUIRED_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


@dataclass(frozen=True)
class Actual:
    """The projected object as read from the API (None-like when absent); data already decoded."""

    exists: bool
    owner_uid: str | None = None
    labelled: bool = False
    data: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    resource_version: str | None = None
    # NAME -> version of the value the object holds, from its annotation; None when the object
    # carries none (written before the annotation existed): then status is taken as the truth.
    versions: Mapping[str, str] | None = None
    # The object's own labels, annotations (without the versions annotation) and Secret type, so a
    # cached view can be judged against a resource's template when that resource is reconciled.
    meta_labels: Mapping[str, str] = field(default_factory=dict, repr=False)
    meta_annotations: Mapping[str, str] = field(default_factory=dict, repr=False)
    secret_type: str | None = None

    @classmethod
    def absent(cls) -> Actual:
        return cls(exists=False)


@dataclass(frozen=True)
class NameFact:
    state: str
    reason: str
    message: str
    key_id: str | None
    version: str | None
    last_changed: str | None
    changed: bool = False

    def as_status(self) -> dict[str, str]:
        out = {"state": self.state}
        # The message only for a name that is not Projected: its cause, in words (no value ever).
        message = self.message if self.state != "Projected" else ""
        for key, value in (("reason", self.reason), ("message", message), ("keyId", self.key_id),
                           ("version", self.version), ("lastChanged", self.last_changed)):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class Projection:
    write: Write
    data: Mapping[str, bytes] = field(repr=False)
    facts: Mapping[str, NameFact]
    # Names the Secret's type requires that failed and have no value to keep: the object is not
    # written (the API server would refuse it), and status says why per name.
    held: tuple[str, ...] = ()

    @property
    def changed_names(self) -> list[str]:
        return [name for name, fact in self.facts.items() if fact.changed]

    @property
    def versions(self) -> dict[str, str]:
        """NAME -> version of each value the object is to hold: what its annotation records."""
        return {name: fact.version for name, fact in self.facts.items()
                if name in self.data and fact.version}


def versions_annotation(versions: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(versions.items())), separators=(",", ":"))


def parse_versions(raw: object) -> dict[str, str] | None:
    """The annotation as written by `versions_annotation`; None when absent or not ours."""
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): v for k, v in data.items() if isinstance(v, str) and v}


def version_token(resource: Resource) -> str:
    return f"{resource.uid[:8]}-{resource.generation}"


def _old_facts(resource: Resource) -> Mapping[str, Any]:
    names = resource.status.get("names")
    return names if isinstance(names, Mapping) else {}


def _fact(resource: Resource, name: str, outcome: NameOutcome, desired: bytes | None,
          actual: Actual, now: str) -> NameFact:
    old = _old_facts(resource).get(name)
    old = old if isinstance(old, Mapping) else {}
    reported, last_changed = old.get("version"), old.get("lastChanged")
    # The version of what the object holds now: its own record wins over status, which may lag.
    held = actual.versions.get(name) if actual.versions is not None and name in actual.data else None
    version = held or reported
    if (desired is not None and outcome.state == "Projected"
            and (actual.data.get(name) != desired or not version)):
        version = version_token(resource)
    changed = version != reported and (desired is not None and outcome.state in ("Projected", "Failed"))
    if changed or (version and not last_changed):
        last_changed = now
    if outcome.state == "Conflict":
        version, last_changed = None, None
    return NameFact(outcome.state, outcome.reason, outcome.message, outcome.key_id,
                    version, last_changed, changed)


def _blocked(resource: Resource, outcomes: Mapping[str, NameOutcome]) -> Projection:
    message = f"a Secret or ConfigMap named {resource.name} exists and is not owned by this resource"
    facts = {
        name: NameFact("Pending", OWNERSHIP_CONFLICT, f"{name}: {message}", o.key_id, None, None)
        for name, o in outcomes.items()
    }
    return Projection("blocked", {}, facts)


def _held(resource: Resource, outcomes: Mapping[str, NameOutcome], actual: Actual,
          now: str) -> Projection | None:
    """The object left as it is, when a name its Secret type requires failed and has no last good
    value: writing without it would only earn the API server's 422 (`data[tls.crt]: Required
    value`), which hides the cause. Names that did unseal wait, each saying for what."""
    required = REQUIRED_KEYS.get(resource.template.type, ()) if resource.kind == SECRET_KIND else ()
    held = tuple(n for n in required if n in outcomes and outcomes[n].state == "Failed"
                 and n not in actual.data)
    if not held:
        return None
    why = (f"not written: a {resource.template.type} Secret needs {', '.join(held)}, which did not "
           "unseal (see that name)")
    facts: dict[str, NameFact] = {}
    for name, outcome in outcomes.items():
        kept = actual.data.get(name)
        if outcome.state == "Projected" and outcome.value != kept:
            outcome = NameOutcome("Pending", REQUIRED_NAME_FAILED, f"{name}: {why}", outcome.key_id)
        facts[name] = _fact(resource, name, outcome, kept, actual, now)
    return Projection("none", {n: v for n, v in actual.data.items() if n in outcomes}, facts, held)


def project(resource: Resource, outcomes: Mapping[str, NameOutcome], actual: Actual, now: str) -> Projection:
    """Decide the projected data and facts; `now` is the RFC 3339 time used for lastChanged."""
    if actual.exists and actual.owner_uid != resource.uid:
        return _blocked(resource, outcomes)
    held = _held(resource, outcomes, actual, now)
    if held is not None:
        return held
    data: dict[str, bytes] = {}
    facts: dict[str, NameFact] = {}
    for name, outcome in outcomes.items():
        desired: bytes | None = None
        if outcome.state == "Projected":
            desired = outcome.value
        elif outcome.state == "Failed":
            desired = actual.data.get(name)  # the last good value stays
        if desired is not None:
            data[name] = desired
        facts[name] = _fact(resource, name, outcome, desired, actual, now)
    if not actual.exists:
        write: Write = "create"
    elif dict(actual.data) != data or not actual.labelled or (
            actual.versions is not None
            and dict(actual.versions) != {n: f.version for n, f in facts.items() if n in data and f.version}):
        write = "update"
    else:
        write = "none"
    return Projection(write, data, facts)


def labels() -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY}


def desired_labels(resource: Resource) -> dict[str, str]:
    """The template's labels, with the managed-by label last: a template cannot disown the object
    (the drift watch and the webhook find projections by that label)."""
    return {**resource.template.labels, **labels()}


def desired_annotations(resource: Resource) -> dict[str, str]:
    """The template's annotations, without the one the operator writes itself (the versions)."""
    return {k: v for k, v in resource.template.annotations.items() if k != VERSIONS_ANNOTATION}


def judged_for(actual: Actual, resource: Resource) -> Actual:
    """`actual` with `labelled` meaning "carries what this resource's template wants": its labels
    and annotations, and for a Secret its type (immutable: a changed type is sent, refused by the
    API server, and reported)."""
    if not actual.exists:
        return actual
    applied = metadata_applied(resource, actual.meta_labels, actual.meta_annotations)
    if resource.kind == "IronflowSecret" and (actual.secret_type or "Opaque") != resource.template.type:
        applied = False
    return replace(actual, labelled=applied)


def metadata_applied(
    resource: Resource, meta_labels: Mapping[str, Any], meta_annotations: Mapping[str, Any]
) -> bool:
    """True when the object carries every label and annotation the resource wants (extra ones are
    left alone: other tools may add their own)."""
    return all(meta_labels.get(k) == v for k, v in desired_labels(resource).items()) and all(
        meta_annotations.get(k) == v for k, v in desired_annotations(resource).items()
    )
