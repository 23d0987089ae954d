"""Tests on a real node: pods run under containerd, and their processes' output is the evidence.

The node (containerd, kubelet, kube-scheduler) starts once per session on the session's own
control plane, only when a test here asks for it: integration tests never pay for it. Where the
machine cannot run a node, the tests skip and say why, except in CI (CI=true), where a node
test that cannot run FAILS: this project's CI machine can run one, so a skip there hides a fault.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ironflow.envtest.cluster import Cluster
from ironflow.envtest.node import Node, unavailable_reason

_HERE = Path(__file__).parent
# The operator, webhook and CLI fixtures are shared with the integration tests, not copied.
sys.path.insert(0, str(_HERE.parent / "integration"))
pytest.register_assert_rewrite(
    "operator_fixtures", "webhook_fixtures", "cli_fixtures", "cli_support", "node_support"
)


_TIMINGS: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _TIMINGS:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.node)


def _cannot_run(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"node tests must run in CI, but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def node(cluster: Cluster) -> Iterator[Node]:
    """The session's node, Ready; stopped (pods, processes, host state) before the control plane."""
    if cluster.plane is None or cluster.bin_dir is None:
        _cannot_run("node tests need the session's own control plane (not --kubeconfig)")
        raise AssertionError("unreachable")
    reason = unavailable_reason(cluster.bin_dir)
    if reason is not None:
        _cannot_run(f"no node on this machine: {reason}")
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
