"""Tests on a real node: pods run under containerd, and their processes' output is the evidence.

The node (containerd, kubelet, kube-scheduler) starts once per session on the session's own
control plane, only when a test here asks for it: integration tests never pay for it. Where the
machine cannot run a node, the tests skip and say why, except in CI (CI=true), where a node
test that cannot run FAILS: this project's CI machine can run one, so a skip there hides a fault
(`node_fixtures.py`, shared with tests/incluster).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).parent
# The operator, webhook and CLI fixtures are shared with the integration tests, not copied.
sys.path.insert(0, str(_HERE.parent / "integration"))
pytest.register_assert_rewrite(
    "operator_fixtures", "operator_launch", "webhook_fixtures", "cli_fixtures", "cli_support", "node_support",
    "node_fixtures",
)

from node_fixtures import node, summary  # noqa: E402  (after the rewrite registration)

__all__ = ["node"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in summary():
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.node)
