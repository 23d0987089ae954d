"""One version, written once (pyproject.toml): every place a user or a cluster reads it agrees.

The chart, manifests/ and the CRDs are generated from it (`make manifests`, `make crds`); the
package, the User-Agent, `ironflow --version` and the build-info metric read the installed
metadata; the Makefile's image tag reads pyproject.toml. A copy edited by hand, or a generated file
not regenerated after a bump, fails here with the command that fixes it.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml
from click.testing import CliRunner

import ironflow
from ironflow import metrics
from ironflow.cli.main import cli
from ironflow.core.model import CRD_VERSION_ANNOTATION
from ironflow.k8s.async_client import USER_AGENT

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# How a release's artifacts are named where docs tell users to fetch or build them.
ARTIFACT = re.compile(r"ironflow[-_]operator[-:_](\d+\.\d+\.\d+)(?=[-.\s`]|$)")


def test_given_pyproject_version_when_package_is_installed_then_metadata_agrees() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION
    assert ironflow.__version__ == VERSION, "the installed metadata is stale: run `make install`"


def test_given_the_version_when_cli_user_agent_and_metric_report_it_then_all_say_the_same() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"ironflow, version {VERSION}"
    assert f"ironflow-operator/{VERSION}" == USER_AGENT
    metrics.build_info()
    exposition = metrics.exposition().decode()
    assert 'ironflow_build_info{python="' in exposition
    assert re.search(rf'ironflow_build_info\{{[^}}]*version="{re.escape(VERSION)}"', exposition), exposition


def test_given_the_chart_when_read_then_version_and_app_version_are_the_release() -> None:
    chart = yaml.safe_load((ROOT / "charts/ironflow/Chart.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == (VERSION, VERSION), "run `make manifests`"


def test_given_manifests_when_read_then_every_version_label_is_the_release() -> None:
    seen: set[str] = set()
    for path in sorted((ROOT / "manifests").glob("*.yaml")):
        seen.update(re.findall(r'app\.kubernetes\.io/version: "?([^"\n]+)"?', path.read_text()))
        seen.update(re.findall(r"helm\.sh/chart: ironflow-(\S+)", path.read_text()))
        image = re.findall(r"image: \S+:(\S+)", path.read_text())
        seen.update(v.strip('"') for v in image)
    assert seen == {VERSION}, f"manifests/ carry {seen}: run `make manifests`"


def test_given_crds_and_their_copies_when_read_then_each_crd_names_the_release() -> None:
    for directory in ("crds", "charts/ironflow/crds", "manifests/crds"):
        files = sorted((ROOT / directory).glob("*.yaml"))
        docs = [d for p in files for d in yaml.safe_load_all(p.read_text())]
        crds = [d for d in docs if d and d["kind"] == "CustomResourceDefinition"]
        assert len(crds) == 2, directory
        for crd in crds:
            assert (crd["metadata"].get("annotations") or {}).get(CRD_VERSION_ANNOTATION) == VERSION, (
                f"{directory}: run `make crds`"
            )


def test_given_makefile_when_asked_then_image_tag_is_the_release() -> None:
    out = subprocess.run(["make", "-s", "--no-print-directory", "version"], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=30).stdout.split()  # fmt: skip
    assert out == [VERSION, f"ghcr.io/ironflow/ironflow-operator:{VERSION}"]


def test_given_docs_and_dockerfile_when_they_name_an_artifact_then_it_is_this_release() -> None:
    """The Dockerfile and the install docs name artifacts of this release only (the upgrade
    section's previous release is named by version alone, not as an artifact)."""
    stale: list[str] = []
    for path in [ROOT / "Dockerfile", ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name == "benchmarks.md":  # measured figures of the version that was measured
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            stale += [f"{path.name}:{number}: {line.strip()}" for v in ARTIFACT.findall(line) if v != VERSION]
    assert stale == [], "\n".join(stale)
