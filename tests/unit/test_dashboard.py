"""The Grafana dashboard in docs/ queries only series the operator exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ironflow import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "dashboards" / "ironflow-operator.json"
def queried_series(text: str) -> set[str]:
    return set(re.findall(r"\b((?:ironflow|process)_[a-z_]+)\b", text))


def test_given_dashboard_when_its_queries_are_read_then_every_series_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = queried_series("\n".join(exprs))
    assert {"ironflow_webhook_admissions_total", "process_resident_memory_bytes"} <= used
    assert used <= metrics.series_names(), used - metrics.series_names()
