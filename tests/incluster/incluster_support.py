"""Installing the chart on the node the way docs/install.md says, and watching the operator's pods.

The image is the archive `make image` wrote (imported into the node's containerd, never pulled);
Helm runs with its cache and config in a temporary directory and the session's kubeconfig named
explicitly, so nothing on the machine or in ~/.kube is read or written.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ironflow"
NAMESPACE = "ironflow-system"
RELEASE = "ironflow"
DEPLOYMENT = "ironflow-operator"
SERVICE = "ironflow-webhook"
CLI = Path(sys.executable).parent / "ironflow"
TIMINGS: list[str] = []


def version() -> str:
    found = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert found, "no version in pyproject.toml"
    return found.group(1)


def image_archive() -> Path:
    archive = ROOT / ".build" / f"ironflow-operator-{version()}.oci.tar"
    assert archive.is_file(), f"{archive} is missing: run `make image` (make incluster does)"
    return archive


def import_image(node: Node, archive: Path | None = None) -> float:
    """The operator image (this tree's unless `archive` names another release's) into the node's
    containerd the way `make image-import` does it (`python -m ironflow_testbed import-image`, the
    node's own socket); seconds taken."""
    begin = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ironflow_testbed", "import-image", "--dir", str(node.layout.root.parent),
         str(archive or image_archive())],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"import-image: {done.stdout}{done.stderr}"
    if archive is None:
        assert f"ghcr.io/ironflow/ironflow-operator:{version()}" in done.stdout, done.stdout
    assert str(node.layout.socket) in done.stdout, "the command names the socket it used"
    return time.monotonic() - begin


@dataclass
class Helm:
    binary: Path
    cluster: Cluster
    home: Path
    log: list[str] = field(default_factory=list)

    def __call__(self, *args: str, timeout: float = 300) -> str:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        argv = [str(self.binary), "--kubeconfig", str(self.cluster.kubeconfig), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        self.log.append(f"helm {' '.join(args)} -> {result.returncode}")
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout


def ironflow(cluster: Cluster, *args: str, input: str | None = None, user: str = "cli-home",
             check: bool = True) -> str:
    """The real `ironflow` console script, with the session's admin kubeconfig named explicitly; its
    pinned signers (trust on first use) live in the cluster directory (one home per `user`: each
    install has its own master key, so its own signer), not in the real user's home."""
    home = cluster.kubeconfig.parent / user
    result = subprocess.run(
        [str(CLI), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=input, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")},
    )  # fmt: skip
    if not check:  # a command whose exit code tells something (`status`): its whole output
        return result.stdout + result.stderr
    assert result.returncode == 0, f"ironflow {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def operator_pods(cluster: Cluster, *, terminating: bool = False) -> list[dict[str, Any]]:
    """The operator's pods; those being deleted only with `terminating` (they serve until they exit)."""
    selector = f"app.kubernetes.io/name={DEPLOYMENT},app.kubernetes.io/instance={RELEASE}"
    out = cluster.kubectl("get", "pods", "-n", NAMESPACE, "-l", selector, "-o", "json").stdout
    return [p for p in json.loads(out)["items"] if terminating or not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def wait_operator_ready(cluster: Cluster, replicas: int = 2, timeout: float = 240) -> list[dict[str, Any]]:
    def all_ready() -> list[dict[str, Any]] | None:
        pods = operator_pods(cluster)
        return pods if len(pods) == replicas and all(ready(p) for p in pods) else None

    return eventually(all_ready, timeout=timeout, what=f"{replicas} operator pods Ready")


def lease_holder(cluster: Cluster) -> str:
    out = cluster.kubectl("get", "lease", DEPLOYMENT, "-n", NAMESPACE, "-o", "json", check=False)
    if out.returncode != 0:
        return ""
    return str(json.loads(out.stdout)["spec"].get("holderIdentity") or "")


def uninstalled(cluster: Cluster, helm: Helm) -> None:
    """`helm uninstall` (unless already done), then the namespace, gone before the next install."""
    if RELEASE in helm("list", "--namespace", NAMESPACE, "--short").split():
        helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
    cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=180s")


def exists(cluster: Cluster, *what: str) -> bool:
    return cluster.kubectl("get", *what, check=False).returncode == 0


def reported_ready(cluster: Cluster, namespace: str, name: str = "app") -> bool:
    """The IronflowSecret's status is Ready for its current generation: its names are projected,
    so the webhook injects them (a pod created before is refused as not projected yet)."""
    result = cluster.kubectl("get", f"ironflowsecret/{name}", "-n", namespace, "-o", "json", check=False)
    if result.returncode != 0:
        return False
    body = json.loads(result.stdout)
    status = body.get("status") or {}
    return status.get("observedGeneration") == body["metadata"].get("generation") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
