"""Mixed versions: a sharded replica writes its share only under a leader that shards too.

A release without sharding has one leader writing every namespace. During a rolling upgrade to
a sharded release (or with one replica started with --no-sharding) that leader keeps writing
everything while the new replicas come up; were they to write their shares beside it, a
namespace would have two writers. So a leader that runs with --sharding says so in the leader
Lease (`ironflow.dev/sharding: "true"`, core/lease.py), and a sharded replica writes no
namespace unless it leads itself, or the leader Lease as last read is held by a holder whose
record carries that annotation. Pure on purpose, like core/lease.py: it decides when writes are
safe, so it is tested on a fake clock.

How long a record read from the Lease vouches for its holder, on the reader's monotonic clock:
as long as the holder itself may write on it, `renew_deadline` after the earliest instant it can
have been written. That instant is the start of the last read that returned an earlier record
(the new one was written after that read). A non-sharded candidate takes the Lease at the
earliest `lease_duration` after the record was written, so the `lease_duration - renew_deadline`
margin of leader election covers this gate too. A record seen on the first read has no such
bound: it vouches for nothing until it is seen to change (one retry period, as the leader renews).

The opposite switch (an upgrade that turns sharding off): a leader without sharding that took
the Lease from a record carrying the annotation holds back its writes for `renew_deadline`
(`hold_back`), by which time every sharded replica's permission, from that record or an earlier
one, has ended. A release older than this gate knows neither rule; see docs.
"""

from __future__ import annotations

import math

from ironflow.core.lease import LeaseRecord


def vouches_until(record: LeaseRecord | None, written_after: float | None, renew_deadline: float) -> float:
    """Until when (monotonic) the leader Lease as read lets a sharded replica write its share.

    `written_after`: the start of the last read that returned an earlier record (None: this
    record was on the first read). -inf: it vouches for nothing.
    """
    if record is None or not record.held or not record.sharding or written_after is None:
        return -math.inf
    return written_after + renew_deadline


def paused_reason(leading: bool, record: LeaseRecord | None, written_after: float | None,
                  renew_deadline: float, now: float) -> str | None:
    """Why a sharded replica writes no namespace now (None: the leader shards, or it is us)."""
    if leading or now < vouches_until(record, written_after, renew_deadline):
        return None
    if record is None or not record.held:
        return "no replica holds the leader Lease; waiting for a leader that shards"
    if not record.sharding:
        return (f"the leader Lease is held by {record.holder}, which does not shard (an older version "
                "or --no-sharding) and writes every namespace; waiting until it is gone")
    return "the leader Lease has not been read fresh enough to vouch for its holder; waiting for a read"


def hold_back(sharding: bool, taken_from: LeaseRecord | None, renew_deadline: float) -> float:
    """Seconds a new leader without sharding writes nothing after taking the Lease from `taken_from`."""
    if sharding or taken_from is None or not taken_from.sharding:
        return 0.0
    return renew_deadline
