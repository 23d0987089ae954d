"""The operator as users run it: its image on the node, installed with `helm install`.

Its own pytest session (`make incluster`): the chart installs cluster-wide objects (CRDs, the
webhook configuration, RBAC) under the names users get, which the node tests' local operators
would otherwise collide with. The node itself is tests/node's fixture (`node_fixtures.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).parent
sys.path.insert(0, str(_HERE.parent / "node"))
sys.path.insert(0, str(_HERE.parent / "integration"))
pytest.register_assert_rewrite("node_support", "node_fixtures", "incluster_support")

from incluster_support import TIMINGS  # noqa: E402  (after the rewrite registration)
from node_fixtures import node, summary  # noqa: E402

__all__ = ["node"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in summary() + TIMINGS:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.node)
