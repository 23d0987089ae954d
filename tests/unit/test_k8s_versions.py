"""The supported Kubernetes versions: one table, read alike by the fixtures and the build script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ironflow_testbed.binaries import DEFAULT_K8S_MINOR, K8S_VERSIONS, k8s_version

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "hack" / "build-control-plane.sh"


def _script_version(requested: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "IRONFLOW_K8S_VERSION"}
    env["K8S_VERSION"] = requested
    return subprocess.run(
        [str(BUILD_SCRIPT), "--print-version"], env=env, capture_output=True, text=True, check=False
    )


def test_given_the_table_then_the_newest_four_minors_each_pinned_to_a_patch_of_itself() -> None:
    minors = sorted(K8S_VERSIONS, key=lambda m: int(m.split(".")[1]))
    assert len(minors) == 4 and minors[-1] == DEFAULT_K8S_MINOR
    assert [int(m.split(".")[1]) for m in minors] == list(range(int(minors[0][2:]), int(minors[0][2:]) + 4))
    assert all(pin.startswith(f"v{minor}.") for minor, pin in K8S_VERSIONS.items())


def test_given_a_minor_or_a_full_version_then_the_pin_or_that_version_and_nothing_unsupported() -> None:
    assert k8s_version("") == K8S_VERSIONS[DEFAULT_K8S_MINOR]
    assert k8s_version("1.33") == k8s_version("v1.33") == K8S_VERSIONS["1.33"]
    assert k8s_version("1.34.1") == k8s_version("v1.34.1") == "v1.34.1"
    for unsupported in ("1.30", "1.32.9", "2.0", "latest", "1.33.x"):
        with pytest.raises(ValueError, match=r"supported minors: 1\.33, 1\.34, 1\.35, 1\.36"):
            k8s_version(unsupported)


@pytest.mark.parametrize("requested", ["", "1.33", "v1.34", "1.35", "1.36", "1.33.2"])
def test_given_k8s_version_then_the_build_script_resolves_it_like_the_fixtures(requested: str) -> None:
    result = _script_version(requested)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == k8s_version(requested)


def test_given_an_unsupported_version_then_the_build_script_refuses_and_lists_the_supported() -> None:
    for unsupported in ("1.30", "1.33.x", "latest"):
        result = _script_version(unsupported)
        assert result.returncode != 0, unsupported
        assert "supported minors: 1.33 1.34 1.35 1.36" in result.stderr
