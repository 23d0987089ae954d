"""The product ships only the product: the operator's wheel holds the `ironflow` package and no
test bed, and its dependencies are what the operator imports, with the CLI's client apart.

Why: the test bed (testbed/ironflow_testbed: control plane, node, image writer) is its own
distribution for tests and development; in the wheel it would also land in the operator's image.
And a dependency the operator never imports is code every replica ships (and scanners report)
for nothing, so the image installs the base dependencies only and the CLI's Kubernetes client is
the `cli` extra (docs/install.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import grimp
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared(specs: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(spec).name) for spec in specs}


def _imported_distributions(graph: grimp.ImportGraph, entry: str) -> set[str]:
    """Distributions of the third-party packages `entry` imports, directly or through ironflow."""
    owners = metadata.packages_distributions()
    tops = {m.split(".")[0] for m in graph.find_upstream_modules(entry)} - set(sys.stdlib_module_names)
    tops = {top for top in tops if top != "ironflow"}
    assert all(top in owners for top in tops), f"imports without an installed distribution: {tops}"
    return {canonicalize_name(owners[top][0]) for top in tops}


def test_given_the_import_graph_when_compared_with_pyproject_then_each_part_declares_its_imports() -> None:
    graph = grimp.build_graph("ironflow", include_external_packages=True, cache_dir=None)
    operator = _imported_distributions(graph, "ironflow.controller.entry")
    cli = _imported_distributions(graph, "ironflow.cli.main")
    base, cli_extra = _declared(PROJECT["dependencies"]), _declared(PROJECT["optional-dependencies"]["cli"])
    assert "kopf" in operator and "kubernetes" in cli  # the graph reached both entry points
    assert base == operator, "the base dependencies are exactly what the operator process imports"
    assert cli_extra == cli - operator, "the cli extra is exactly what only the CLI imports"


def test_given_the_tree_when_the_wheel_is_built_then_it_holds_ironflow_and_no_test_bed(
    tmp_path: Path,
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for name in ("operator", "testbed"):  # the test bed beside it, as in the repository
        shutil.copytree(ROOT / name, source / name, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("ironflow_operator-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"ironflow", f"{wheel.name.split('-py3')[0]}.dist-info"}, tops
    assert "ironflow/controller/entry.py" in names and "ironflow/cli/main.py" in names
    assert [n for n in names if "testbed" in n or "envtest" in n] == []
