"""The write gate with --sharding, the worker's gate per key type, and the sharding flags."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import click
import pytest

from ironflow.controller import health, worker
from ironflow.controller.election_flags import election_from
from ironflow.controller.leadership import ElectionOptions
from ironflow.controller.shares import Shares
from ironflow.controller.work import AnchorKey, CrKey, RolloutKey, SealingKeyKey, WithdrawKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.k8s.async_client import USER_AGENT, NotLeading, namespace_of, user_agent

OPS = "ironflow-system"


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def _shares(leading: bool, clock: Clock) -> Shares:
    leadership = types.SimpleNamespace(is_leading=lambda: leading, share_pause=lambda _now: None)
    options = ElectionOptions(sharding=True, replica_id="r-a", identity="r-a_1")
    shares = Shares(None, OPS, options, leadership, clock=clock)  # type: ignore[arg-type]
    shares.serves = lambda ns: ns.startswith("team-")
    shares.membership.renewed(clock.now, clock.now, frozenset({"r-a"}))
    shares.membership.listed(clock.now + 0.1, clock.now + 0.1, [], shares._wall())
    return shares


def test_given_request_paths_when_parsed_then_the_namespace_written_is_found_or_none() -> None:
    assert namespace_of("/api/v1/namespaces/team-1/configmaps/app") == "team-1"
    assert namespace_of("/api/v1/namespaces/team-1/events") == "team-1"
    assert namespace_of("/apis/ironflow.io/v1alpha1/namespaces/team-2/ironflowsecrets/a/status") == "team-2"
    assert namespace_of("/apis/apps/v1/namespaces/a%3Fb/deployments/web?fieldManager=x") == "a?b"
    assert namespace_of("/api/v1/namespaces/team-1") is None  # the Namespace object: cluster-scoped
    assert namespace_of("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/x") is None
    assert namespace_of("/apis/g/v/namespaces/team-1") is None


def test_given_sharding_when_writes_are_guarded_then_shares_pass_and_cluster_work_needs_the_leader() -> None:
    clock = Clock()
    follower = _shares(False, clock)
    follower.guard("/api/v1/namespaces/team-1/configmaps/app")  # alone: every served namespace is ours
    for path in ("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/x",
                 f"/api/v1/namespaces/{OPS}/configmaps/ironflow-signing-key",
                 "/api/v1/namespaces/elsewhere/configmaps/ironflow-sealing-key"):
        with pytest.raises(NotLeading):
            follower.guard(path)
    leader = _shares(True, clock)
    leader.guard("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/x")
    leader.guard(f"/api/v1/namespaces/{OPS}/secrets/x")
    leader.guard("/api/v1/namespaces/elsewhere/configmaps/ironflow-sealing-key")  # withdrawal: not served
    clock.now += 60  # our member Lease long past its renew deadline: no namespace, even as leader
    with pytest.raises(NotLeading):
        leader.guard("/api/v1/namespaces/team-1/configmaps/app")


def test_given_a_lone_member_when_recomputed_then_the_hooks_hear_what_was_gained_and_lost() -> None:
    clock = Clock()
    shares = _shares(False, clock)
    assert shares.owns("team-1") and shares.owns("team-2")
    shares.recompute()
    assert shares.owned() == frozenset()  # nothing to count over: the runtime sets candidates
    gained: list[tuple[set[str], set[str]]] = []
    shares.on_change(lambda g, lost: gained.append((g, lost)))
    shares.candidates = lambda: ["team-1", "team-2", "team-3"]
    shares.recompute()
    assert gained == [({"team-1", "team-2", "team-3"}, set())]
    clock.now += 60  # past the renew deadline: everything is lost at the next recompute
    shares.recompute()
    assert gained[-1] == (set(), {"team-1", "team-2", "team-3"})


def test_given_key_types_when_the_worker_decides_then_namespaced_work_needs_the_share_else_leader() -> None:
    runtime: Any = types.SimpleNamespace(leadership=types.SimpleNamespace(is_leading=lambda: False),
                                         owns=lambda ns: ns == "mine")
    assert worker.runs_here(runtime, CrKey("IronflowSecret", "mine", "a"))
    assert worker.runs_here(runtime, SealingKeyKey("mine")) and worker.runs_here(runtime, RolloutKey("mine"))
    assert not worker.runs_here(runtime, CrKey("IronflowSecret", "other", "a"))
    assert not worker.runs_here(runtime, AnchorKey()) and not worker.runs_here(runtime, WithdrawKey())


def test_given_sharding_flags_when_parsed_then_the_replica_id_defaults_and_election_is_required() -> None:
    options = election_from({"sharding": True, "pod_name": "op-7d9f", "pod_uid": "u"}, OPS)
    assert options.sharding and options.replica_id == "op-7d9f"
    options = election_from({"sharding": True, "leader_identity": "me_1"}, OPS)
    assert options.replica_id == "me_1"
    assert election_from({"replica_id": "r-1"}, OPS).replica_id == "r-1"
    assert election_from({}, OPS).replica_id == "" and not election_from({}, OPS).sharding
    with pytest.raises(click.BadParameter):
        election_from({"sharding": True, "leader_election": False}, OPS)


def test_given_a_replica_id_when_the_user_agent_is_made_then_it_names_the_replica() -> None:
    assert user_agent("r-a") == f"{USER_AGENT} (replica r-a)"
    assert user_agent("") == USER_AGENT and user_agent(None) == USER_AGENT


def test_given_sharding_when_readyz_describes_the_replica_then_it_gives_the_share_not_standing_by() -> None:
    clock = Clock()
    shares = _shares(False, clock)
    shares.candidates = lambda: ["team-1", "team-2"]
    shares.recompute()
    report = types.SimpleNamespace(text=None)
    leadership = types.SimpleNamespace(options=ElectionOptions(), is_leading=lambda: False, report=report)
    runtime = types.SimpleNamespace(leadership=leadership, shares=shares)
    line = health._lease_line(runtime)  # type: ignore[arg-type]
    assert line == "share: 2 namespace(s) as replica r-a, 1 live replica(s); not the leader\n"
    report.text = "another operator outside this release holds the lease ironflow-operator: ..."
    line = health._lease_line(runtime)  # type: ignore[arg-type]
    assert "not the leader (another operator outside this release holds the lease" in line, line


def test_given_permission_dropped_a_moment_when_a_key_comes_up_then_a_share_key_returns_else_drops() -> None:
    async def run() -> tuple[int, int]:
        loaded = asyncio.Event()
        loaded.set()
        queue: WorkQueue[Any] = WorkQueue()
        runtime: Any = types.SimpleNamespace(
            keys_loaded=loaded, keys=object(), queue=queue, owns=lambda _ns: False,
            leadership=types.SimpleNamespace(is_leading=lambda: False),
            shares=types.SimpleNamespace(enabled=True, kept=lambda: frozenset({"mine"})))
        handle = worker.handler(runtime)
        await handle(CrKey("IronflowSecret", "mine", "a"))  # a member joining: no namespace moves
        kept_back = queue.depth
        await handle(CrKey("IronflowSecret", "moved", "a"))  # handed over: its new owner resyncs it
        return kept_back, queue.depth

    assert asyncio.run(run()) == (1, 1)
