"""A second Kubernetes version (CI's oldest) costs only what differs: the build script copies the
version-independent binaries, and the make targets run the version asked for, never another cache."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ironflow_testbed.binaries import K8S_VERSIONS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hack" / "build-control-plane.sh"
BASH = shutil.which("bash") or "/bin/bash"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm")
NODE = ("kubelet", "kube-scheduler", "kube-proxy", "crictl")
OLDEST = min(K8S_VERSIONS, key=lambda minor: int(minor.split(".")[1]))


def _key(k8s: str) -> str:
    pins = dict(re.findall(r'^(\w+)_VERSION="\$\{IRONFLOW_\w+:-(v[\d.]+)\}"', SCRIPT.read_text(), re.M))
    return f"k8s-{k8s}_etcd-{pins['ETCD']}_helm-{pins['HELM']}_crictl-{pins['CRICTL']}"


def _fake_cache(directory: Path, apiserver_version: str, names: tuple[str, ...]) -> Path:
    directory.mkdir(parents=True)
    for name in names:
        body = f"echo Kubernetes {apiserver_version}" if name == "kube-apiserver" else f"echo {name}"
        (directory / name).write_text(f"#!/bin/sh\n{body}\n")
        (directory / name).chmod(0o755)
    return directory


def _go_path() -> str:
    go = shutil.which("go")
    assert go is not None, "Go is part of this project's toolchain (README: a fresh machine has Go)"
    return f"{Path(go).parent}:/usr/bin:/bin"


def test_given_the_minors_table_when_asked_then_the_script_lists_them_oldest_first() -> None:
    result = subprocess.run([BASH, str(SCRIPT), "--print-minors"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == sorted(K8S_VERSIONS, key=lambda minor: int(minor.split(".")[1]))
    assert result.stdout.split()[0] == OLDEST


def test_given_the_newest_cached_when_the_oldest_builds_elsewhere_then_etcd_and_helm_are_copied(
    tmp_path: Path,
) -> None:
    newest = max(K8S_VERSIONS.values(), key=lambda v: int(v.split(".")[1]))
    cache = tmp_path / "cache"
    _fake_cache(cache / "control-plane" / _key(newest), newest, CONTROL_PLANE + NODE)
    elsewhere = tmp_path / "elsewhere" / "oldest"  # an IRONFLOW_CP_DIR outside the cache
    env = {
        "HOME": str(tmp_path),
        "IRONFLOW_CACHE_DIR": str(cache),
        "IRONFLOW_CP_DIR": str(elsewhere),
        "IRONFLOW_CP_NODE": "0",
        "K8S_VERSION": OLDEST,
        "PATH": _go_path(),
        "GOPROXY": "http://127.0.0.1:9",  # stops the script after the copies, before any build
    }
    result = subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert "cannot reach the Go module proxy" in result.stderr, result.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["etcd", "helm"]
    assert "reused etcd from" in result.stderr and "reused helm from" in result.stderr
    assert "reused crictl" not in result.stderr  # a node part, not wanted without the node


def _make(tmp_path: Path, target: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(tmp_path), "IRONFLOW_CACHE_DIR": str(tmp_path / "cache"), "PATH": _go_path()}
    args = [f"{name}={value}" for name, value in variables.items()]
    return subprocess.run(
        ["make", "-o", "install", target, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_given_a_binary_dir_of_another_version_when_the_api_suite_asks_for_one_then_it_refuses(
    tmp_path: Path,
) -> None:
    other = _fake_cache(tmp_path / "other", "v1.36.3", CONTROL_PLANE)
    result = _make(tmp_path, "integration-api", K8S_VERSION=OLDEST, IRONFLOW_CP_DIR=str(other))
    assert result.returncode != 0
    assert f"asks for Kubernetes {K8S_VERSIONS[OLDEST]}" in result.stderr, result.stderr
    assert "has Kubernetes v1.36.3" in result.stderr
    assert "test session starts" not in result.stdout  # refused before pytest started


def test_given_ci_exports_the_newest_dir_when_integration_oldest_runs_then_it_uses_the_oldest_cache(
    tmp_path: Path,
) -> None:
    newest = _fake_cache(tmp_path / "newest", "v1.36.3", CONTROL_PLANE)
    # A wrong version in the oldest's cache stops the run at the check, naming the dir it chose.
    oldest_dir = tmp_path / "cache" / "control-plane" / _key(K8S_VERSIONS[OLDEST])
    oldest = _fake_cache(oldest_dir, "v0.0.0", CONTROL_PLANE)
    result = _make(tmp_path, "integration-oldest", IRONFLOW_CP_DIR=str(newest), K8S_VERSION="1.36")
    assert result.returncode != 0
    assert f"{oldest} has Kubernetes v0.0.0" in result.stderr, result.stderr
    assert f"integration-oldest: Kubernetes {OLDEST}" in result.stdout
