"""The operator's leader-election flags (or IRONFLOW_LEADER_ELECTION* / IRONFLOW_LEASE_* variables).

Defaults are client-go's (15 s / 10 s / 2 s): a dead leader is replaced within about 15 s plus
one retry, a live one renews five times per lease duration and so survives a slow API server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from ironflow.controller.leadership import ElectionOptions, default_identity
from ironflow.core.lease import DEFAULT_LEASE_NAME, HolderPod

F = TypeVar("F", bound=Callable[..., Any])


def election_click_options(command: F) -> F:
    options = [
        click.option("--leader-election/--no-leader-election", "leader_election", default=True,
                     show_default=True, envvar="IRONFLOW_LEADER_ELECTION",
                     help="Elect one writing replica through a Lease in --operator-namespace; without it "
                          "this process always writes (run only one)."),
        click.option("--lease-name", default=DEFAULT_LEASE_NAME, show_default=True,
                     envvar="IRONFLOW_LEASE_NAME", help="Name of the leader-election Lease."),
        click.option("--lease-duration", type=click.FloatRange(min=1), default=15.0, show_default=True,
                     envvar="IRONFLOW_LEASE_DURATION",
                     help="Seconds a standby waits, without seeing a renewal, before taking the Lease."),
        click.option("--lease-renew-deadline", type=click.FloatRange(min=0.5), default=10.0,
                     show_default=True,
                     envvar="IRONFLOW_LEASE_RENEW_DEADLINE",
                     help="Seconds after its last successful renewal at which a leader stops writing."),
        click.option("--lease-retry-period", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
                     envvar="IRONFLOW_LEASE_RETRY_PERIOD", help="Seconds between attempts to take or renew."),
        click.option("--leader-identity", default=None, envvar="IRONFLOW_LEADER_IDENTITY",
                     help="This replica's name in the Lease (default: pod name or hostname plus a random "
                          "suffix)."),
        click.option("--pod-name", default=None, envvar="IRONFLOW_POD_NAME",
                     help="The pod this replica runs in (the chart sets it): written into the Lease, so "
                          "a candidate can tell a dead holder (its pod gone) from a live one."),
        click.option("--pod-namespace", default=None, envvar="IRONFLOW_POD_NAMESPACE",
                     help="That pod's namespace (default: --operator-namespace)."),
        click.option("--pod-uid", default="", envvar="IRONFLOW_POD_UID", help="That pod's uid."),
        click.option("--sharding/--no-sharding", "sharding", default=False, show_default=True,
                     envvar="IRONFLOW_SHARDING",
                     help="Share the served namespaces out across the live replicas (one member Lease "
                          "each); the elected leader keeps only the cluster-wide duties. Needs leader "
                          "election."),
        click.option("--replica-id", default=None, envvar="IRONFLOW_REPLICA_ID",
                     help="This replica's name among the members and in the User-Agent of its requests "
                          "(default: --pod-name, else the leader identity)."),
        click.option("--release-name", default="", envvar="IRONFLOW_RELEASE",
                     help="The release (Deployment instance) the pod belongs to: a standby says when the "
                          "Lease is held by an operator outside it."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def election_from(values: Mapping[str, Any], operator_namespace: str = "") -> ElectionOptions:
    """The parsed flags; raises click.BadParameter when the three durations are not ordered."""
    pod_name = values.get("pod_name") or None
    namespace = str(values.get("pod_namespace") or operator_namespace)
    pod = (HolderPod(namespace, str(pod_name), str(values.get("pod_uid") or ""),
                     str(values.get("release_name") or "")) if pod_name and namespace else None)
    enabled = bool(values.get("leader_election", True))
    sharding = bool(values.get("sharding", False))
    if sharding and not enabled:
        raise click.BadParameter("sharding needs leader election", param_hint="--sharding")
    identity = str(values.get("leader_identity") or default_identity(pod_name))
    options = ElectionOptions(
        enabled=enabled,
        lease_name=str(values.get("lease_name") or DEFAULT_LEASE_NAME),
        lease_duration=float(values.get("lease_duration") or 15.0),
        renew_deadline=float(values.get("lease_renew_deadline") or 10.0),
        retry_period=float(values.get("lease_retry_period") or 2.0),
        identity=identity,
        pod=pod,
        sharding=sharding,
        replica_id=str(values.get("replica_id") or (pod_name or identity if sharding else "")),
    )
    problem = options.problem()
    if options.enabled and problem:
        raise click.BadParameter(problem, param_hint="--lease-duration, --lease-renew-deadline, "
                                                     "--lease-retry-period")
    return options
