"""The session's real node, shared by tests/node and tests/incluster (each its own pytest session).

Where the machine cannot run a node, the tests skip and say why, except in CI (CI=true), where a
node test that cannot run FAILS: this project's CI machine can run one, so a skip there hides a fault.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def another_node(cluster: Cluster, first: Node, index: int = 1) -> Iterator[Node]:
    """Node `index` (127.0.0.2 for 1) joining the session's node for a module: its own containerd
    and kubelet on the same bridge; stopped (its pods, processes, mounts, cgroups) at the end,
    leaving the first node as it was."""
    assert cluster.plane is not None and cluster.bin_dir is not None, "needs the session's node"
    extra = Node(first.layout.root.parent, cluster.bin_dir, cluster.plane.server, die_with_parent=True,
                 index=index)  # fmt: skip
    atexit.register(extra.stop)
    extra.start()
    _TIMINGS.append(f"node {extra.name}: Ready in {extra.timings['total']:.1f}s ({extra.describe_timings()})")
    try:
        yield extra
    finally:
        problems = extra.stop()
        atexit.unregister(extra.stop)
        assert not problems, f"node {extra.name} left things behind: {problems}"


def summary() -> list[str]:
    """Lines for the session's terminal summary: when the node became Ready, step by step."""
    return list(_TIMINGS)
