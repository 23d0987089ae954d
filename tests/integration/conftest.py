"""Everything under tests/integration needs a real API server: mark it so `-m "not integration"` skips it."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent

# Shared fixture modules are imported by test modules before pytest_plugins registers them; marking
# them here keeps pytest's assertion rewriting (and detailed failure messages) in their helpers.
pytest.register_assert_rewrite(
    "operator_fixtures", "operator_launch", "webhook_fixtures", "cli_fixtures", "cli_support", "ha_fixtures",
    "kubeconfig_support", "hostile_crd_fixtures", "shares_fixtures",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)
