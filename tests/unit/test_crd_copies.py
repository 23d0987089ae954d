"""crds/ is the one source of truth: the chart and manifests/ must carry identical copies.

The same comparison as hack/check-crd-copies.sh, minus the parts that need helm (those run in
tests/e2e/test_chart.py): byte-for-byte CRD copies, and the chart's webhook template as the
generator derives it from the Python renderer.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "crds"
COPIES = [ROOT / "charts" / "ironflow" / "crds", ROOT / "manifests" / "crds"]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_manifests", ROOT / "hack" / "gen-manifests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_given_source_of_truth_when_listed_then_it_holds_crds_and_the_policy() -> None:
    names = sorted(p.name for p in SOURCE.glob("*.yaml"))
    assert "ironflow.io_ironflowsecrets.yaml" in names
    assert "ironflow.io_ironflowconfigs.yaml" in names
    assert any("policy" in n for n in names)


@pytest.mark.parametrize("copy", COPIES, ids=lambda p: str(p.relative_to(ROOT)))
def test_given_packaged_copy_when_compared_with_crds_then_identical(copy: Path) -> None:
    source = {p.name: p.read_bytes() for p in SOURCE.glob("*.yaml")}
    copied = {p.name: p.read_bytes() for p in copy.glob("*.yaml")}
    assert sorted(copied) == sorted(source), f"{copy} has other files than crds/: run `make crds`"
    stale = [name for name in source if copied[name] != source[name]]
    assert not stale, f"{copy}: {stale} differ from crds/: run `make crds`"


def test_given_python_renderer_when_template_generated_then_chart_template_is_current() -> None:
    generator = _generator()
    committed = (ROOT / "charts" / "ironflow" / generator.WEBHOOK_TEMPLATE).read_text()
    assert committed == generator.webhook_template(), "chart webhook template is stale: run `make crds`"
