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

Who wins a take-over race (`wait_before_taking`): a candidate that saw the current record being
written (it had looked at the Lease before) knows it is at most one retry period old when first
seen; one that found it already there (a process that just started, such as the crashed leader's
restarted container) does not, and waits one retry period more. Both waits are safe; the extra
one only makes the standby that watched the leader die take over first. A holder whose pod no
longer exists (the Lease names it, `HolderPod`) is dead: the Lease is taken once the record has
missed a renewal, not after a whole duration (a reinstall after `helm uninstall`, whose RBAC goes
before the pods can release).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"
DEFAULT_LEASE_NAME = "ironflow-operator"
# Where the holder's pod is written (by the holder, with every renewal): metadata.annotations.
POD_ANNOTATION = "ironflow.io/holder-pod"  # namespace/name
POD_UID_ANNOTATION = "ironflow.io/holder-pod-uid"
RELEASE_ANNOTATION = "ironflow.io/holder-release"
# Written by a leader that runs with --sharding (core/share_gate.py): its replicas may write their shares.
SHARDING_ANNOTATION = "ironflow.dev/sharding"


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
class HolderPod:
    """The pod a replica runs in (downward API), and the release (Deployment instance) it belongs to."""

    namespace: str
    name: str
    uid: str
    release: str = ""

    def describe(self) -> str:
        release = f", release {self.release}" if self.release else ""
        return f"pod {self.namespace}/{self.name}{release}"

    def annotations(self) -> dict[str, str]:
        return {POD_ANNOTATION: f"{self.namespace}/{self.name}", POD_UID_ANNOTATION: self.uid,
                RELEASE_ANNOTATION: self.release}


def _holder_pod(annotations: Mapping[str, Any]) -> HolderPod | None:
    namespace, _, name = str(annotations.get(POD_ANNOTATION) or "").partition("/")
    if not namespace or not name:
        return None
    return HolderPod(namespace, name, str(annotations.get(POD_UID_ANNOTATION) or ""),
                     str(annotations.get(RELEASE_ANNOTATION) or ""))


@dataclass(frozen=True)
class LeaseRecord:
    """The spec of a coordination.k8s.io/v1 Lease, plus the resourceVersion it was read at."""

    holder: str
    duration_seconds: int
    acquire_time: datetime.datetime | None
    renew_time: datetime.datetime | None
    transitions: int
    resource_version: str | None = None
    holder_pod: HolderPod | None = None  # only replicas that know their pod say it
    sharding: bool = False  # the holder shares namespaces out (kept by `released`: see core/share_gate.py)

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
        holder_pod=_holder_pod(meta.get("annotations") or {}),
        sharding=str((meta.get("annotations") or {}).get(SHARDING_ANNOTATION) or "") == "true",
    )


def claimed(current: LeaseRecord | None, identity: str, duration_seconds: int,
            now: datetime.datetime, pod: HolderPod | None = None, sharding: bool = False) -> LeaseRecord:
    """The record `identity` writes to acquire or renew (keeping resourceVersion as the precondition)."""
    if current is not None and current.holder == identity:
        return replace(current, duration_seconds=duration_seconds, renew_time=now, holder_pod=pod,
                       sharding=sharding)
    transitions = 0 if current is None else current.transitions + (1 if current.held else 0)
    return LeaseRecord(identity, duration_seconds, now, now, transitions,
                       None if current is None else current.resource_version, pod, sharding)


def released(current: LeaseRecord, now: datetime.datetime) -> LeaseRecord:
    """What a leader shutting down writes: nobody holds it, so a standby takes it at its next try."""
    return replace(current, holder="", duration_seconds=1, renew_time=now, holder_pod=None)


def wait_before_taking(current: LeaseRecord | None, identity: str, *, saw_written: bool = True,
                       retry_period: float = 0.0, holder_gone: bool = False) -> float:
    """Seconds `identity` must have seen this very record unchanged before it may take it (0: now).

    Free or ours: 0. Held by a holder whose pod is gone: one retry period (it missed a renewal).
    Otherwise a whole lease duration, plus one retry period for a candidate that did not see the
    record being written (`saw_written` False: its first look found it already there).
    """
    if current is None or not current.held or current.holder == identity:
        return 0.0
    if holder_gone:
        return retry_period
    duration = float(max(current.duration_seconds, 1))
    return duration if saw_written else duration + retry_period


def may_acquire(current: LeaseRecord | None, identity: str, unchanged_for: float, *,
                saw_written: bool = True, retry_period: float = 0.0, holder_gone: bool = False) -> bool:
    """Whether `identity` may write itself into the Lease now.

    `unchanged_for` is how long (monotonic seconds, the candidate's own clock) the candidate has
    seen exactly this record (see `wait_before_taking`).
    """
    return unchanged_for >= wait_before_taking(current, identity, saw_written=saw_written,
                                               retry_period=retry_period, holder_gone=holder_gone)


def holder_pod_gone(pod: HolderPod, found: Mapping[str, Any] | None) -> bool:
    """The holder's pod, as a GET of its name returned it (None: 404), is no longer that pod."""
    if found is None:
        return True
    uid = str((found.get("metadata") or {}).get("uid") or "")
    return bool(pod.uid) and uid != pod.uid


LivenessState = Literal["alive", "stale", "released", "missing", "unknown"]


@dataclass(frozen=True)
class Liveness:
    """`ironflow status`'s "operator alive" line: who leads and how fresh its Lease is."""

    state: LivenessState
    holder: str | None
    renew_time: datetime.datetime | None
    age_seconds: float | None
    duration_seconds: int | None
    pod: HolderPod | None = None
    held_seconds: float | None = None  # since acquireTime, by the wall clock

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
            return f"{self.holder} leads, Lease renewed {age} ({self.holder_facts()})"
        return (f"{self.holder} held the leader Lease, last renewed {age} "
                f"(duration {self.duration_seconds}s): no operator is alive")

    def holder_facts(self) -> str:
        where = self.pod.describe() if self.pod else "not an in-cluster replica (no pod named in the Lease)"
        held = f"; leading for {span(self.held_seconds)}" if self.held_seconds is not None else ""
        return where + held


def span(seconds: float) -> str:
    """4s, 3m12s, 2h05m: how long, for people."""
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def liveness(record: LeaseRecord | None, now: datetime.datetime) -> Liveness:
    if record is None:
        return Liveness("missing", None, None, None, None)
    if not record.held:
        return Liveness("released", None, record.renew_time, None, record.duration_seconds)
    age = (now - record.renew_time).total_seconds() if record.renew_time else None
    fresh = age is not None and age <= record.duration_seconds
    held = (now - record.acquire_time).total_seconds() if record.acquire_time else None
    return Liveness("alive" if fresh else "stale", record.holder, record.renew_time, age,
                    record.duration_seconds, record.holder_pod, held)
