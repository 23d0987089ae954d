"""Namespaces shared out across replicas: who owns what, and when a replica may write there.

Pure on purpose, like core/lease.py: that two replicas never write one namespace at once is the
whole safety argument of sharding, so it is decided here, on injected clocks, and tested; the
glue (controller/shares.py, k8s/lease.py) only reads, writes and sleeps.

- Assignment is rendezvous hashing (`owner`): each namespace goes to the member with the largest
  hash of (member, namespace). A member joining or leaving moves only namespaces to or from
  that member; everything else stays where it was, so a scale-out does not reshuffle the cluster.
- Each replica publishes, in its member Lease, the view (the members it counts as live) it gates
  its writes with. It writes a namespace only when both its published and its latest view give
  it the namespace, and no other live member's published view, read after its own publication,
  gives that member the namespace. Of two replicas whose views disagree about one namespace, the
  one that published later reads the other's earlier view and refrains, so they never both write.
- Liveness of others is judged on this replica's monotonic clock, from lists only: a member is
  gone when a list that started `lease_duration` after its record was first seen changed still
  shows the same record (it had stopped writing by its renew deadline), or when its Lease is
  deleted or released (it stopped writing before that).
- Itself: valid until the start of its last successful renewal plus the renew deadline; past
  that it owns nothing, even if the loop is stuck.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ironflow.core.lease import HolderPod, LeaseRecord, parse_lease

MANAGED_BY = ("app.kubernetes.io/managed-by", "ironflow-operator")
MEMBER_OF_LABEL = "ironflow.dev/member-of"
VIEW_ANNOTATION = "ironflow.dev/view"
SHARE_NAMESPACES_ANNOTATION = "ironflow.dev/share-namespaces"
SHARE_RESOURCES_ANNOTATION = "ironflow.dev/share-resources"
_NOT_NAME = re.compile(r"[^a-z0-9-]")


def member_lease_name(lease_name: str, replica_id: str) -> str:
    """`<lease-name>-member-<replica-id>`, the id made a valid name (the true id is the holder);
    a name must end in a letter or digit, so a trailing '-' is cut too."""
    return f"{lease_name}-member-{_NOT_NAME.sub('-', replica_id.lower())}"[:253].rstrip("-")


def member_labels(lease_name: str) -> dict[str, str]:
    return {MANAGED_BY[0]: MANAGED_BY[1], MEMBER_OF_LABEL: lease_name}


def member_selector(lease_name: str) -> str:
    return f"{MANAGED_BY[0]}={MANAGED_BY[1]},{MEMBER_OF_LABEL}={lease_name}"


@functools.lru_cache(maxsize=65536)
def _weight(member: str, namespace: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{member}\0{namespace}".encode()).digest()[:8], "big")


def owner(namespace: str, members: Iterable[str]) -> str | None:
    """The member a namespace belongs to under `members` (None: no members)."""
    best: tuple[int, str] | None = None
    for member in members:
        candidate = (_weight(member, namespace), member)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[1]


def format_view(view: Iterable[str]) -> str:
    return ",".join(sorted(set(view)))


def parse_view(text: object) -> frozenset[str]:
    return frozenset(p.strip() for p in str(text or "").split(",") if p.strip())


def _count(text: object) -> int:
    try:
        return max(int(str(text)), 0)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Member:
    """One member Lease as read: who, its record, the view it gates writes with, its share."""

    name: str  # the Lease's name
    lease: LeaseRecord
    view: frozenset[str] = frozenset()
    namespaces: int = 0
    resources: int = 0

    @property
    def replica(self) -> str:
        return self.lease.holder

    def annotations(self) -> dict[str, str]:
        pod = self.lease.holder_pod.annotations() if self.lease.holder_pod else {}
        return {**pod, VIEW_ANNOTATION: format_view(self.view),
                SHARE_NAMESPACES_ANNOTATION: str(self.namespaces),
                SHARE_RESOURCES_ANNOTATION: str(self.resources)}


def parse_member(lease: Mapping[str, Any]) -> Member | None:
    record = parse_lease(lease)
    if record is None:
        return None
    meta = lease.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return Member(str(meta.get("name") or ""), record, parse_view(annotations.get(VIEW_ANNOTATION)),
                  _count(annotations.get(SHARE_NAMESPACES_ANNOTATION)),
                  _count(annotations.get(SHARE_RESOURCES_ANNOTATION)))


def renewed_member(current: Member | None, name: str, replica: str, duration_seconds: int,
                   now: datetime.datetime, view: Iterable[str], namespaces: int, resources: int,
                   pod: HolderPod | None = None) -> Member:
    """What `replica` writes into its own member Lease (resourceVersion kept as the precondition)."""
    if current is None:
        record = LeaseRecord(replica, duration_seconds, now, now, 0, None, pod)
    else:
        acquired = current.lease.acquire_time or now
        record = LeaseRecord(replica, duration_seconds, acquired, now, current.lease.transitions,
                             current.lease.resource_version, pod)
    return Member(name, record, frozenset(view) | {replica}, namespaces, resources)


@dataclass
class _Seen:
    observed: tuple[object, ...]
    changed_at: float  # monotonic: when a list first returned this record (its response)
    live_when_seen: bool  # a record changed while watched, or fresh by the wall clock when first seen
    member: Member


@dataclass
class Membership:
    """One replica's knowledge of the members, and its write permission per namespace.

    Times are the observer's monotonic clock: `renewed` and `listed` take when the request
    started and when its answer came, so every judgement errs on the safe side.
    """

    me: str
    lease_duration: float
    renew_deadline: float
    _valid_until: float = float("-inf")
    _published: frozenset[str] = frozenset()
    _published_at: float = float("inf")  # when the current published view was first written
    _last_list: float = float("-inf")  # start of the last successful list
    _seen: dict[str, _Seen] = field(default_factory=dict)

    def valid(self, now: float) -> bool:
        return now < self._valid_until

    @property
    def published(self) -> frozenset[str]:
        return self._published

    def renewed(self, started: float, finished: float, view: frozenset[str]) -> None:
        """Our member Lease was written with `view` (an attempt that started at `started`)."""
        self._valid_until = max(self._valid_until, started + self.renew_deadline)
        if view != self._published:
            self._published, self._published_at = view, finished

    def unpublished(self) -> None:
        """A renewal whose outcome is unknown (a timeout, a 5xx): the others may read a view we
        do not know we published, so nothing is ours until the next renewal says what is."""
        self._published, self._published_at = frozenset(), float("inf")

    def expire(self) -> None:
        """Stop at once (shutdown, before the Lease is deleted)."""
        self._valid_until = float("-inf")

    def listed(self, started: float, finished: float, members: Iterable[Member],
               wall: datetime.datetime) -> None:
        """A complete list of the member Leases; a member missing from it is gone now."""
        current: dict[str, _Seen] = {}
        for member in members:
            if member.replica == self.me or not member.lease.held:
                continue  # ourselves (we know better), or released: stopped writing already
            observed = (member.lease.resource_version, member.lease.renew_time, member.view)
            before = self._seen.get(member.replica)
            if before is not None and before.observed == observed:
                before.member = member
                current[member.replica] = before
                continue
            renew = member.lease.renew_time
            fresh = renew is not None and (wall - renew).total_seconds() < self.lease_duration
            current[member.replica] = _Seen(observed, finished, before is not None or fresh, member)
        self._seen = current
        self._last_list = started

    def live_others(self) -> dict[str, Member]:
        """Others whose record changed less than a lease duration before the last list started."""
        return {r: s.member for r, s in self._seen.items()
                if s.live_when_seen and self._last_list - s.changed_at < self.lease_duration}

    def view(self, now: float) -> frozenset[str]:
        """The latest computed view: the live others, and ourselves while our Lease is valid."""
        others = frozenset(self.live_others())
        return others | {self.me} if self.valid(now) else others

    def may_write(self, namespace: str, now: float) -> bool:
        if not self.valid(now) or owner(namespace, self._published) != self.me:
            return False
        if self._last_list < self._published_at:
            return False  # no list since ours was published: a member may claim it unseen
        others = self.live_others()
        if owner(namespace, others.keys() | {self.me}) != self.me:
            return False
        return all(owner(namespace, m.view) != r for r, m in others.items())
