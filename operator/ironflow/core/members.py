"""The replicas that share out the served namespaces, as their member Leases describe them.

With sharding every replica keeps one Lease of its own in the operator namespace, labelled with
the leader Lease's name (two releases never mix members), and writes into its annotations what it
owns and which replicas it counts as live. `ironflow status` reads nothing else to list replicas:
the Lease is the only record a replica keeps of itself that outlives a look at the process.

Pure, like core/lease.py: the CLI reads the Leases (k8s/sync_operator.py) and hands them here, so
the rows are tested with a fixed clock. Age and liveness use the same wall-clock rule as the
leader line of `ironflow status` (`lease.liveness`): renewed within its duration is live. A
replica itself decides by its monotonic clock; a single look from outside cannot.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ironflow.core.lease import HolderPod, LeaseRecord, Liveness, liveness, parse_lease, span
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL
from ironflow.core.shares import (
    MEMBER_OF_LABEL,
    SHARE_NAMESPACES_ANNOTATION,
    SHARE_RESOURCES_ANNOTATION,
    VIEW_ANNOTATION,
)


def member_selector(lease_name: str) -> str:
    """The label selector of the member Leases that belong to the leader Lease `lease_name`: the
    same the replicas list with, so status shows exactly the members they count."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{MEMBER_OF_LABEL}={lease_name}"


@dataclass(frozen=True)
class Member:
    """One replica's member Lease: who, when renewed, and what it says it owns and sees."""

    lease: str  # the member Lease's own name
    record: LeaseRecord
    view: tuple[str, ...]
    namespaces: int | None  # None: not published (yet), or not a number
    resources: int | None

    @property
    def replica(self) -> str:
        return self.record.holder

    @property
    def pod(self) -> HolderPod | None:
        return self.record.holder_pod


def _count(text: object) -> int | None:
    try:
        value = int(str(text))
    except ValueError:
        return None
    return value if value >= 0 else None


def parse_member(lease: Mapping[str, Any]) -> Member | None:
    """None for a Lease that names no replica (not a member Lease at all)."""
    record = parse_lease(lease)
    if record is None or not record.held:
        return None
    meta = lease.get("metadata") or {}
    notes = meta.get("annotations") or {}
    view = tuple(sorted({part.strip() for part in str(notes.get(VIEW_ANNOTATION) or "").split(",")
                         if part.strip()}))
    return Member(str(meta.get("name") or ""), record, view, _count(notes.get(SHARE_NAMESPACES_ANNOTATION)),
                  _count(notes.get(SHARE_RESOURCES_ANNOTATION)))


def _is_leader(member: Member, leader: Liveness) -> bool:
    if not leader.alive or not leader.holder:
        return False
    if member.replica == leader.holder:
        return True
    # A replica id set apart from the leader identity: the same pod is the same replica.
    return member.pod is not None and leader.pod is not None and (
        (member.pod.namespace, member.pod.name) == (leader.pod.namespace, leader.pod.name))


def replica_rows(leases: Iterable[Mapping[str, Any]], leader: Liveness,
                 now: datetime.datetime) -> list[dict[str, Any]]:
    """One plain row per member Lease, sorted by replica id: what `-o json` prints under replicas."""
    members = sorted((m for m in map(parse_member, leases) if m is not None), key=lambda m: m.replica)
    looks = {m.replica: liveness(m.record, now) for m in members}
    live = sorted(r for r, look in looks.items() if look.alive)
    rows = []
    for member in members:
        look = looks[member.replica]
        rows.append({
            "replica": member.replica,
            "lease": member.lease,
            "pod": f"{member.pod.namespace}/{member.pod.name}" if member.pod else None,
            "state": "live" if look.alive else "expired",
            "leader": _is_leader(member, leader),
            "ageSeconds": None if look.age_seconds is None else round(look.age_seconds, 1),
            "durationSeconds": member.record.duration_seconds,
            "namespaces": member.namespaces,
            "resources": member.resources,
            "view": list(member.view),
            "viewAgrees": list(member.view) == live,
        })
    return rows


def replicas_summary(rows: list[dict[str, Any]]) -> str:
    """The line above the table: how many replicas, live, and whether their shares add up."""
    if not rows:
        return ("replicas: no member Leases (sharding off): the leader reconciles every served namespace")
    live = [r for r in rows if r["state"] == "live"]
    namespaces = sum(r["namespaces"] or 0 for r in live)
    resources = sum(r["resources"] or 0 for r in live)
    return (f"replicas: {len(live)} live of {len(rows)}, sharing {namespaces} namespace(s) "
            f"and {resources} resource(s)")


def pods_differ(rows: list[dict[str, Any]]) -> bool:
    """Whether the table needs a POD column: not when each replica is named after its pod (the chart)."""
    return any(r["pod"] and r["pod"].partition("/")[2] != r["replica"] for r in rows)


def replica_headers(with_pod: bool) -> list[str]:
    return [h for h in REPLICA_HEADERS if with_pod or h != "POD"]


def replica_cells(row: dict[str, Any], live_count: int, wide: bool, with_pod: bool = True) -> list[str]:
    """A row for the human table; the view is "all N live" when it is exactly the live set."""
    age = "-" if row["ageSeconds"] is None else f"{span(row['ageSeconds'])} ago"
    if row["viewAgrees"]:
        view = f"all {live_count} live"
    else:
        joined = ",".join(row["view"]) or "-"
        view = joined if wide or len(joined) <= 48 else joined[:47] + "…"
    pod = [row["pod"] or "-"] if with_pod else []
    return [row["replica"] + (" (leader)" if row["leader"] else ""), *pod, row["state"], age,
            "-" if row["namespaces"] is None else str(row["namespaces"]),
            "-" if row["resources"] is None else str(row["resources"]), view]


REPLICA_HEADERS: Final = ("REPLICA", "POD", "LEASE", "RENEWED", "NAMESPACES", "RESOURCES", "VIEW")
