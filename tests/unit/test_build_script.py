"""hack/build-control-plane.sh says what is missing in one line instead of failing obscurely."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ironflow_testbed.binaries import DEFAULT_K8S_MINOR, K8S_VERSIONS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hack" / "build-control-plane.sh"


BASH = shutil.which("bash") or "/bin/bash"


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"HOME": str(tmp_path), "IRONFLOW_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run(
        [BASH, str(SCRIPT)], env={**base, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def _empty_path(tmp_path: Path) -> str:
    """A PATH with no tools at all: wherever Go is installed on this machine, it is not found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    return str(empty)


def _go_path() -> str:
    go = shutil.which("go")
    assert go is not None, "Go is part of this project's toolchain (README: a fresh machine has Go)"
    return f"{Path(go).parent}:/usr/bin:/bin"


def test_given_no_go_on_path_when_building_then_one_line_says_go_is_missing(tmp_path: Path) -> None:
    result = _run(tmp_path, PATH=_empty_path(tmp_path))
    assert result.returncode == 1
    assert "ERROR: Go is not installed" in result.stderr
    assert result.stdout == ""


def test_given_unreachable_module_proxy_when_building_then_it_says_so(tmp_path: Path) -> None:
    go = shutil.which("go")
    assert go is not None, "Go is part of this project's toolchain (README: a fresh machine has Go)"
    path = f"{Path(go).parent}:/usr/bin:/bin"
    result = _run(tmp_path, PATH=path, GOPROXY="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "ERROR: cannot reach the Go module proxy (http://127.0.0.1:9)" in result.stderr


def test_given_complete_cache_when_building_then_reused_without_go(tmp_path: Path) -> None:
    pins = dict(re.findall(r'^(\w+)_VERSION="\$\{IRONFLOW_\w+:-(v[\d.]+)\}"', SCRIPT.read_text(), re.M))
    pins["K8S"] = K8S_VERSIONS[DEFAULT_K8S_MINOR]  # the script reads the same table
    key = f"k8s-{pins['K8S']}_etcd-{pins['ETCD']}_helm-{pins['HELM']}_crictl-{pins['CRICTL']}"
    bin_dir = tmp_path / "cache" / "control-plane" / key
    bin_dir.mkdir(parents=True)
    names = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm")
    node = ("kubelet", "kube-scheduler", "kube-proxy", "crictl")
    for name in names + node:
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    result = _run(tmp_path, PATH=_empty_path(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(bin_dir)
    assert "using cached binaries" in result.stderr


def test_given_a_build_holding_the_lock_when_a_second_starts_then_it_waits_and_reuses_its_result(
    tmp_path: Path,
) -> None:
    import fcntl

    pins = dict(re.findall(r'^(\w+)_VERSION="\$\{IRONFLOW_\w+:-(v[\d.]+)\}"', SCRIPT.read_text(), re.M))
    pins["K8S"] = K8S_VERSIONS[DEFAULT_K8S_MINOR]  # the script reads the same table
    key = f"k8s-{pins['K8S']}_etcd-{pins['ETCD']}_helm-{pins['HELM']}_crictl-{pins['CRICTL']}"
    bin_dir = tmp_path / "cache" / "control-plane" / key
    bin_dir.parent.mkdir(parents=True)
    with open(f"{bin_dir}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = {"HOME": str(tmp_path), "IRONFLOW_CACHE_DIR": str(tmp_path / "cache"), "PATH": _go_path()}
        proc = subprocess.Popen(
            [BASH, str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "another build" in line and "waiting" in line
        assert proc.poll() is None
        bin_dir.mkdir()
        for name in (
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kubectl",
            "helm",
            "kubelet",
            "kube-scheduler",
            "kube-proxy",
            "crictl",
        ):
            (bin_dir / name).write_text("#!/bin/sh\n")
            (bin_dir / name).chmod(0o755)
        fcntl.flock(lock, fcntl.LOCK_UN)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip().splitlines()[-1] == str(bin_dir)
    assert "built by the other run" in err
