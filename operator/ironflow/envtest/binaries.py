"""Where the control-plane binaries live (built by hack/build-control-plane.sh, cached per version)."""

from __future__ import annotations

import os
from pathlib import Path

K8S_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"
HELM_VERSION = "v3.21.4"
CRICTL_VERSION = "v1.37.0"
REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl")
# The node's Kubernetes parts, built into the same directory; only `up --node` needs them.
NODE_REQUIRED = ("kubelet", "kube-scheduler", "crictl")

BIN_DIR_ENV = "IRONFLOW_CP_DIR"


def default_bin_dir(home: Path | None = None) -> Path:
    """The cache directory the build script uses by default (same key, same layout)."""
    cache = os.environ.get("IRONFLOW_CACHE_DIR") or str((home or Path.home()) / ".cache" / "ironflow")
    key = f"k8s-{K8S_VERSION}_etcd-{ETCD_VERSION}_helm-{HELM_VERSION}_crictl-{CRICTL_VERSION}"
    return Path(cache) / "control-plane" / key


def missing(bin_dir: Path, required: tuple[str, ...] = REQUIRED) -> list[str]:
    return [name for name in required if not os.access(bin_dir / name, os.X_OK)]


def find_bin_dir(explicit: str | Path | None = None) -> Path:
    """An explicit directory, else $IRONFLOW_CP_DIR, else the default cache; all binaries must be there."""
    chosen = Path(explicit or os.environ.get(BIN_DIR_ENV) or default_bin_dir()).expanduser().resolve()
    absent = missing(chosen)
    if absent:
        raise FileNotFoundError(
            f"control-plane binaries {', '.join(absent)} not found in {chosen}; "
            "build them with `make control-plane` (hack/build-control-plane.sh) "
            f"or point {BIN_DIR_ENV} at a directory that has them"
        )
    return chosen
