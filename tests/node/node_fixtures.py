"""The session's real node, shared by tests/node and tests/incluster (each its own pytest session).

Where the machine cannot run a node, the tests skip and say why, except in CI (CI=true), where a
node test that cannot run FAILS: this project's CI machine can run one, so a skip there hides a fault.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator

import pytest

from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node, unavailable_reason

_TIMINGS: list[str] = []


def cannot_run(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"node tests must run in CI, but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def node(cluster: Cluster) -> Iterator[Node]:
    """The session's node, Ready; stopped (pods, processes, host state) before the control plane."""
    if cluster.plane is None or cluster.bin_dir is None:
        cannot_run("node tests need the session's own control plane (not --kubeconfig)")
        raise AssertionError("unreachable")
    reason = unavailable_reason(cluster.bin_dir)
    if reason is not None:
        cannot_run(f"no node on this machine: {reason}")
    node = Node(cluster.plane.layout.root, cluster.bin_dir, cluster.plane.server, die_with_parent=True)
    atexit.register(node.stop)
    node.start()
    _TIMINGS.append(
        f"node {node.layout.root}: Ready in {node.timings['total']:.1f}s ({node.describe_timings()})"
    )
    try:
        yield node
    finally:
        problems = node.stop()
        atexit.unregister(node.stop)
        assert not problems, f"the node left things behind: {problems}"


def summary() -> list[str]:
    """Lines for the session's terminal summary: when the node became Ready, step by step."""
    return list(_TIMINGS)
