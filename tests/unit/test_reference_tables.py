"""docs/reference.md and the chart README stay true to their sources.

The tables of resource fields and chart values are generated (hack/gen-reference.py): a stale one
fails here, as a stale crds/ fails test_crd_copies. The hand-written tables (exit codes, metrics,
reasons) are checked against the code they describe, so a new metric or reason cannot go unlisted.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ironflow import metrics
from ironflow.cli import errors
from ironflow.cli.status import EXIT_ATTENTION
from ironflow.core import conditions, crypto_errors, model, outcomes, projection

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "hack" / "gen-reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_given_schema_crds_and_values_when_tables_generated_then_committed_docs_are_current() -> None:
    stale = [str(path.relative_to(ROOT)) for path, text in _generator().rendered().items()
             if path.read_text(encoding="utf-8") != text]
    assert stale == [], f"generated tables are stale in {stale}: run `make reference`"


def test_given_a_changed_source_when_spliced_then_the_block_differs_and_the_prose_is_kept() -> None:
    gen = _generator()
    text = REFERENCE.read_text(encoding="utf-8")
    changed = gen.splice(text, "chart-values", "| value |\n| --- |\n| `new.value` |")
    assert changed != text and "`new.value`" in changed
    assert changed.split(gen.begin("chart-values"))[0] == text.split(gen.begin("chart-values"))[0]


def _schema_nodes(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = [(path, node)] if path else []
    for key, child in (node.get("properties") or {}).items():
        out += _schema_nodes(child, f"{path}.{key}" if path else key)
    return out


def test_given_values_schema_when_read_then_every_value_is_described_and_every_default_is_in_it() -> None:
    schema = json.loads((ROOT / "charts/ironflow/values.schema.json").read_text())
    nodes = dict(_schema_nodes(schema))
    undescribed = [path for path, node in nodes.items() if not node.get("description")]
    assert undescribed == [], f"values without a description in values.schema.json: {undescribed}"

    def keys(values: dict[str, Any], prefix: str = "") -> list[str]:
        out = []
        for key, value in values.items():
            path = f"{prefix}.{key}" if prefix else key
            out.append(path)
            if isinstance(value, dict) and nodes.get(path, {}).get("properties"):
                out += keys(value, path)
        return out

    values = yaml.safe_load((ROOT / "charts/ironflow/values.yaml").read_text())
    assert [k for k in keys(values) if k not in nodes] == []


def _table_column(section: str, column: int = 0) -> set[str]:
    """The first-column cells (backticks stripped) of the tables under a heading of reference.md."""
    text = REFERENCE.read_text(encoding="utf-8")
    body = text.split(f"\n{section}\n", 1)[1]
    body = re.split(r"\n#{2,3} ", body, maxsplit=1)[0]
    cells = set()
    lines = body.splitlines()
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("| ") and not line.startswith("| ---") and not following.startswith("| ---"):
            cell = line.split(" | ")[column].strip("| ")
            cells.update(re.findall(r"`([^`]+)`", cell) or [cell])
    return cells


def test_given_the_cli_when_its_exit_codes_are_listed_then_reference_and_cli_docs_show_each() -> None:
    codes = {errors.EXIT_OK, errors.EXIT_USER, errors.EXIT_USAGE, errors.EXIT_CLUSTER, EXIT_ATTENTION}
    assert {int(c) for c in _table_column("### Exit codes")} == codes
    cli_doc = (ROOT / "docs/cli.md").read_text()
    assert {int(c) for c in re.findall(r"^\| (\d) \|", cli_doc, flags=re.M)} == codes


def test_given_the_metrics_registry_when_listed_then_reference_names_every_metric() -> None:
    exported = {m.name + ("_total" if m.type == "counter" else "") for m in metrics.REGISTRY.collect()
                if not m.name.startswith("process_")}  # the standard process collector's
    assert exported, "no metric registered"
    assert _table_column("## Metrics") == exported


def test_given_the_ready_reasons_of_the_code_when_listed_then_reference_explains_each() -> None:
    reasons = {
        "Projected", "DevMode", "UnsealFailed", outcomes.INVALID_NAME, outcomes.NAME_CONFLICT,
        projection.OWNERSHIP_CONFLICT, conditions.PROJECTION_FAILED, model.INVALID_SPEC,
        outcomes.NO_MASTER_KEY, outcomes.MASTER_KEY_INVALID,
    }
    source = (ROOT / "operator/ironflow/core/conditions.py").read_text()
    assert set(re.findall(r'Ready\("(?:True|False)", "([A-Za-z]+)"', source)) <= reasons
    assert _table_column("## Conditions and reasons", column=1) == reasons
    per_name = {cls.reason for cls in vars(crypto_errors).values()
                if isinstance(cls, type) and issubclass(cls, crypto_errors.UnsealError)
                and cls is not crypto_errors.UnsealError}
    text = REFERENCE.read_text(encoding="utf-8")
    assert [r for r in per_name if f"`{r}`" not in text] == []
