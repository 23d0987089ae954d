"""Projection result -> the status the resource should show and the Events worth posting.

Status is the operator's memory across restarts: Events are derived from the difference between
the status a resource shows and the one it should show, so a restart over unchanged resources
posts nothing and writes nothing, while every real change of outcome is announced exactly once.
Messages are built from names, reasons and key ids; never from values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ironflow.core.model import INVALID_SPEC, SECRET_KIND, Resource
from ironflow.core.outcomes import INVALID_NAME, MASTER_KEY_INVALID, NAME_CONFLICT, NO_MASTER_KEY, KeyState
from ironflow.core.projection import OWNERSHIP_CONFLICT, Projection

MAX_MESSAGE = 1500
PROJECTION_FAILED = "ProjectionFailed"
EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class Event:
    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class Ready:
    status: Literal["True", "False"]
    reason: str
    message: str


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _target(resource: Resource) -> str:
    return f"{'Secret' if resource.kind == SECRET_KIND else 'ConfigMap'} {resource.name}"


def ready(resource: Resource, projection: Projection, keys: KeyState,
          write_error: str | None = None) -> Ready:
    facts = projection.facts
    failed = [f for f in facts.values()
              if f.state == "Failed" and f.reason not in (MASTER_KEY_INVALID, NO_MASTER_KEY)]
    conflicts = [f for f in facts.values() if f.state == "Conflict"]
    projected = sum(1 for f in facts.values() if f.state == "Projected")
    if projection.write == "blocked":
        return Ready("False", OWNERSHIP_CONFLICT,
                     f"{_target(resource)} exists and is not owned by this resource; it is left untouched")
    unwritten = f"{_target(resource)} could not be written ({write_error}); what it holds now stays"
    if write_error and not failed:
        return Ready("False", PROJECTION_FAILED, unwritten)
    if any(f.reason == MASTER_KEY_INVALID for f in facts.values()):
        return Ready("False", MASTER_KEY_INVALID,
                     _clip(f"the master key is malformed, so nothing is unsealed and every projection is "
                           f"kept: {keys.problem or 'unknown problem'}"))
    if keys.mode == "no-key" and resource.kind == SECRET_KIND:
        # Secrets only: a config needs no key, its ConfigMap is up to date, and calling it not Ready
        # would send people looking for a fault in it. `ironflow status` stays unhealthy through
        # the published mode (no-key) and the secrets' own NoMasterKey.
        return Ready("False", NO_MASTER_KEY,
                     "the operator has no master key (Secret absent or empty) and was not started with "
                     "--dev-mode: nothing is unsealed and every projection is kept; restore the "
                     "ironflow-master-key Secret")
    if failed:
        # The names' own causes first: an API refusal or a held write is their consequence.
        reason = "UnsealFailed" if resource.kind == SECRET_KIND else INVALID_NAME
        kept = "; the last good value of each stays projected"
        if projection.held:
            kept = (f"; {_target(resource)} ({resource.template.type}) is not written while "
                    f"{', '.join(projection.held)}, which that type requires, cannot be unsealed")
        if write_error:
            kept += f"; {unwritten}"
        return Ready("False", reason, _clip("; ".join(f.message for f in failed) + kept))
    if conflicts:
        return Ready("False", NAME_CONFLICT, _clip("; ".join(f.message for f in conflicts)))
    summary = f"{projected} of {len(facts)} names projected into {_target(resource)}"
    if keys.mode == "dev":
        return Ready("True", "DevMode", f"development mode (no master key): {summary}; dev-form values "
                     "are accepted, set the ironflow-master-key Secret for production")
    return Ready("True", "Projected", summary)


def _condition(resource: Resource, state: Ready, now: str) -> dict[str, Any]:
    old = next((c for c in resource.status.get("conditions") or [] if isinstance(c, Mapping)
                and c.get("type") == "Ready"), {})
    since = old.get("lastTransitionTime") if old.get("status") == state.status else None
    return {"type": "Ready", "status": state.status, "reason": state.reason, "message": state.message,
            "observedGeneration": resource.generation, "lastTransitionTime": since or now}


def desired_status(resource: Resource, projection: Projection, keys: KeyState, now: str,
                   write_error: str | None = None) -> dict[str, Any]:
    names = {name: fact.as_status() for name, fact in projection.facts.items()}
    if write_error:  # nothing new reached the projection: the facts it had stay true...
        old = resource.status.get("names")
        kept = dict(old) if isinstance(old, Mapping) else {}
        for name, fact in projection.facts.items():
            if fact.state in ("Failed", "Conflict"):  # ...but a name's own cause is known anyway
                kept[name] = fact.as_status()
            elif not isinstance(kept.get(name), Mapping):
                kept[name] = {"state": "Pending", "reason": PROJECTION_FAILED,
                              "message": f"{name}: not written: {write_error}"}
        names = kept
    return {
        "observedGeneration": resource.generation,
        "nameCount": len(resource.names),
        "mode": keys.mode,
        "conditions": [_condition(resource, ready(resource, projection, keys, write_error), now)],
        "names": names,
    }


def status_patch(resource: Resource, desired: Mapping[str, Any]) -> dict[str, Any] | None:
    """A JSON merge patch for the status subresource, or None when it already shows `desired`."""
    old = resource.status
    if all(old.get(key) == value for key, value in desired.items()):
        return None
    patch = dict(desired)
    old_names = old.get("names")
    if isinstance(old_names, Mapping):
        # A merge patch merges nested maps: a field a name no longer has (a `reason` from a key
        # fault that is over, a `version` of a name now in conflict) must be nulled, or it stays.
        names: dict[str, Any] = {}
        for name, fact in desired["names"].items():
            previous = old_names.get(name)
            gone = [key for key in previous if key not in fact] if isinstance(previous, Mapping) else []
            names[name] = {**dict.fromkeys(gone), **fact}
        names.update({name: None for name in old_names if name not in names})
        patch["names"] = names
    return patch


def events(resource: Resource, projection: Projection, keys: KeyState, state: Ready) -> list[Event]:
    old_status = resource.status
    old_ready = next((c for c in old_status.get("conditions") or [] if isinstance(c, Mapping)
                      and c.get("type") == "Ready"), {})
    old_names = old_status.get("names") if isinstance(old_status.get("names"), Mapping) else {}
    assert isinstance(old_names, Mapping)
    out: list[Event] = []
    if keys.mode == "dev" and old_status.get("mode") != "dev":
        out.append(Event("Warning", "DevMode", "the operator runs in development mode (no master key): "
                         "dev-form values are accepted; set the ironflow-master-key Secret for production"))
    reason_changed = old_ready.get("reason") != state.reason
    if state.reason in (OWNERSHIP_CONFLICT, MASTER_KEY_INVALID, NO_MASTER_KEY, PROJECTION_FAILED):
        if reason_changed:
            out.append(Event("Warning", state.reason, state.message))
        return out
    for name, fact in projection.facts.items():
        old = old_names.get(name)
        old = old if isinstance(old, Mapping) else {}
        if fact.state in ("Failed", "Conflict") and (old.get("state"), old.get("reason")) != (
                fact.state, fact.reason):
            kind = NAME_CONFLICT if fact.state == "Conflict" else (
                "UnsealFailed" if resource.kind == SECRET_KIND else INVALID_NAME)
            kept = "; its last good value stays projected" if name in projection.data else ""
            out.append(Event("Warning", kind, _clip(fact.message + kept)))
    if state.status == "True" and old_ready.get("status") != "True":
        # Only the transition is announced: a value change while Ready stays True costs exactly the
        # projection and the status (its new `version` and `lastChanged` say what changed).
        out.append(Event("Normal", "Projected", state.message))
    return out


def invalid_spec(resource: Resource, keys: KeyState, now: str) -> tuple[dict[str, Any], list[Event]]:
    """Status and Events for a resource whose spec cannot be read as a whole (see Resource.spec_error).

    Nothing is projected or removed: the per-name facts it showed stay, so the last good values
    and their versions remain what workloads see, until the spec is fixed."""
    assert resource.spec_error is not None
    state = Ready("False", INVALID_SPEC,
                  _clip(f"{resource.spec_error}; nothing is projected from it and what {_target(resource)} "
                        "holds stays until the spec is fixed"))
    old = resource.status.get("names")
    desired = {
        "observedGeneration": resource.generation,
        "nameCount": 0,
        "mode": keys.mode,
        "conditions": [_condition(resource, state, now)],
        "names": dict(old) if isinstance(old, Mapping) else {},
    }
    old_ready = next((c for c in resource.status.get("conditions") or [] if isinstance(c, Mapping)
                      and c.get("type") == "Ready"), {})
    changed = old_ready.get("reason") != INVALID_SPEC
    posted = [Event("Warning", INVALID_SPEC, state.message)] if changed else []
    return desired, posted
