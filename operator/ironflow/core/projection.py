"""Outcomes + the object that exists now -> the object that should exist, and per-name facts.

Level-based on purpose: the result depends only on the resource, the key and what is projected
now, so reconciling an unchanged resource yields "no write" and a restart costs nothing. Values
are compared as plaintext in memory; the `version` a workload rolls on is a token made of the
resource's uid and generation, assigned only when a projected value really changes, so it never
carries (or hashes) a value. A name that fails keeps its last good value: bad input or a broken
key must never blank what pods already use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL, Resource
from ironflow.core.outcomes import NameOutcome

Write = Literal["none", "create", "update", "blocked"]
OWNERSHIP_CONFLICT = "OwnershipConflict"


@dataclass(frozen=True)
class Actual:
    """The projected object as read from the API (None-like when absent); data already decoded."""

    exists: bool
    owner_uid: str | None = None
    labelled: bool = False
    data: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    resource_version: str | None = None

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
        for key, value in (("reason", self.reason), ("keyId", self.key_id),
                           ("version", self.version), ("lastChanged", self.last_changed)):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class Projection:
    write: Write
    data: Mapping[str, bytes] = field(repr=False)
    facts: Mapping[str, NameFact]

    @property
    def changed_names(self) -> list[str]:
        return [name for name, fact in self.facts.items() if fact.changed]


def version_token(resource: Resource) -> str:
    return f"{resource.uid[:8]}-{resource.generation}"


def _old_facts(resource: Resource) -> Mapping[str, Any]:
    names = resource.status.get("names")
    return names if isinstance(names, Mapping) else {}


def _fact(resource: Resource, name: str, outcome: NameOutcome, desired: bytes | None,
          actual: Actual, now: str) -> NameFact:
    old = _old_facts(resource).get(name)
    old = old if isinstance(old, Mapping) else {}
    version, last_changed = old.get("version"), old.get("lastChanged")
    changed = False
    if (desired is not None and outcome.state == "Projected"
            and (actual.data.get(name) != desired or not version)):
        new_version = version_token(resource)
        changed = new_version != version
        version = new_version
        last_changed = now if changed or not last_changed else last_changed
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


def project(resource: Resource, outcomes: Mapping[str, NameOutcome], actual: Actual, now: str) -> Projection:
    """Decide the projected data and facts; `now` is the RFC 3339 time used for lastChanged."""
    if actual.exists and actual.owner_uid != resource.uid:
        return _blocked(resource, outcomes)
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
    elif dict(actual.data) != data or not actual.labelled:
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
    return dict(resource.template.annotations)


def metadata_applied(
    resource: Resource, meta_labels: Mapping[str, Any], meta_annotations: Mapping[str, Any]
) -> bool:
    """True when the object carries every label and annotation the resource wants (extra ones are
    left alone: other tools may add their own)."""
    return all(meta_labels.get(k) == v for k, v in desired_labels(resource).items()) and all(
        meta_annotations.get(k) == v for k, v in desired_annotations(resource).items()
    )
