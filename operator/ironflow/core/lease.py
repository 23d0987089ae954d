"""The leader-election Lease as plain data: what a candidate may do with it, and whether it is alive.

Pure on purpose: the timing rules are the whole safety argument of running several replicas, so
they are decided here and tested with a fake clock, and the glue (controller/leadership.py,
k8s/lease.py) only reads, writes and sleeps.

Two clocks, two questions:

- a *candidate* never compares the holder's `renewTime` with its own wall clock (clocks differ
  between nodes); it takes the Lease only after it has seen the record unchanged for a whole
  `leaseDurationSeconds` on its own monotonic clock, as client-go's leaderelection does;
- `ironflow status` looks once and has nothing to observe over time, so it compares `renewTime`
  with the wall clock: good enough to tell "renewed seconds ago" from "dead for minutes".
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"
DEFAULT_LEASE_NAME = "ironflow-operator"


def format_microtime(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime(MICROTIME)


def parse_time(text: object) -> datetime.datetime | None:
    """A Lease MicroTime (or a plain RFC 3339 time); None for anything unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class LeaseRecord:
    """The spec of a coordination.k8s.io/v1 Lease, plus the resourceVersion it was read at."""

    holder: str
    duration_seconds: int
    acquire_time: datetime.datetime | None
    renew_time: datetime.datetime | None
    transitions: int
    resource_version: str | None = None

    @property
    def held(self) -> bool:
        return bool(self.holder)

    def observed_as(self) -> tuple[str, int, datetime.datetime | None, int]:
        """What changes on every renewal or take-over: a candidate's "unchanged" test."""
        return (self.holder, self.duration_seconds, self.renew_time, self.transitions)

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": self.holder or None,
            "leaseDurationSeconds": self.duration_seconds,
            "leaseTransitions": self.transitions,
        }
        if self.acquire_time is not None:
            spec["acquireTime"] = format_microtime(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = format_microtime(self.renew_time)
        return spec


def parse_lease(lease: Mapping[str, Any] | None) -> LeaseRecord | None:
    if lease is None:
        return None
    spec = lease.get("spec") or {}
    meta = lease.get("metadata") or {}
    try:
        duration = int(spec.get("leaseDurationSeconds") or 0)
        transitions = int(spec.get("leaseTransitions") or 0)
    except (TypeError, ValueError):
        duration, transitions = 0, 0
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration_seconds=duration,
        acquire_time=parse_time(spec.get("acquireTime")),
        renew_time=parse_time(spec.get("renewTime")),
        transitions=transitions,
        resource_version=meta.get("resourceVersion"),
    )


def claimed(current: LeaseRecord | None, identity: str, duration_seconds: int,
            now: datetime.datetime) -> LeaseRecord:
    """The record `identity` writes to acquire or renew (keeping resourceVersion as the precondition)."""
    if current is not None and current.holder == identity:
        return replace(current, duration_seconds=duration_seconds, renew_time=now)
    transitions = 0 if current is None else current.transitions + (1 if current.held else 0)
    return LeaseRecord(identity, duration_seconds, now, now, transitions,
                       None if current is None else current.resource_version)


def released(current: LeaseRecord, now: datetime.datetime) -> LeaseRecord:
    """What a leader shutting down writes: nobody holds it, so a standby takes it at its next try."""
    return replace(current, holder="", duration_seconds=1, renew_time=now)


def may_acquire(current: LeaseRecord | None, identity: str, unchanged_for: float) -> bool:
    """Whether `identity` may write itself into the Lease now.

    `unchanged_for` is how long (monotonic seconds, the candidate's own clock) the candidate has
    seen exactly this record. Free or ours: yes. Held by another: only once it has not been
    renewed for a whole lease duration as observed here.
    """
    if current is None or not current.held or current.holder == identity:
        return True
    return unchanged_for >= max(current.duration_seconds, 1)


LivenessState = Literal["alive", "stale", "released", "missing", "unknown"]


@dataclass(frozen=True)
class Liveness:
    """`ironflow status`'s "operator alive" line: who leads and how fresh its Lease is."""

    state: LivenessState
    holder: str | None
    renew_time: datetime.datetime | None
    age_seconds: float | None
    duration_seconds: int | None

    @property
    def alive(self) -> bool:
        return self.state == "alive"

    @property
    def needs_attention(self) -> bool:
        """No operator is known to be alive; "unknown" (the Lease may not be read) is not counted."""
        return self.state in ("stale", "released", "missing")

    def describe(self) -> str:
        if self.state == "unknown":
            return "unknown: the leader Lease could not be read"
        if self.state == "missing":
            return "no operator has ever taken the leader Lease: is the operator running?"
        if self.state == "released":
            return "no operator holds the leader Lease (the last leader stopped)"
        age = f"{self.age_seconds:.0f}s ago" if self.age_seconds is not None else "at an unknown time"
        if self.state == "alive":
            return f"{self.holder} leads, Lease renewed {age}"
        return (f"{self.holder} held the leader Lease, last renewed {age} "
                f"(duration {self.duration_seconds}s): no operator is alive")


def liveness(record: LeaseRecord | None, now: datetime.datetime) -> Liveness:
    if record is None:
        return Liveness("missing", None, None, None, None)
    if not record.held:
        return Liveness("released", None, record.renew_time, None, record.duration_seconds)
    age = (now - record.renew_time).total_seconds() if record.renew_time else None
    fresh = age is not None and age <= record.duration_seconds
    return Liveness("alive" if fresh else "stale", record.holder, record.renew_time, age,
                    record.duration_seconds)
