"""Where the control-plane binaries live (built by hack/build-control-plane.sh, cached per version)."""

from __future__ import annotations

import os
from pathlib import Path

# The supported Kubernetes minors (the newest four, docs/install.md) and the patch release each is
# pinned to. The one place these pins live: hack/build-control-plane.sh reads this table, so keep
# one `"1.NN": "v1.NN.P",` entry per line.
K8S_VERSIONS = {
    "1.33": "v1.33.13",
    "1.34": "v1.34.4",
    "1.35": "v1.35.4",
    "1.36": "v1.36.3",
}
DEFAULT_K8S_MINOR = "1.36"
K8S_VERSION_ENV = "K8S_VERSION"  # `K8S_VERSION=1.33 make integration`: a minor or a full version


def k8s_version(requested: str | None = None) -> str:
    """The full version for a minor ("1.33" -> its pin), a full version as given, the newest when unset."""
    wanted = (requested if requested is not None else os.environ.get(K8S_VERSION_ENV, "")).strip()
    wanted = wanted.removeprefix("v")
    if not wanted:
        return K8S_VERSIONS[DEFAULT_K8S_MINOR]
    if wanted in K8S_VERSIONS:
        return K8S_VERSIONS[wanted]
    parts = wanted.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and ".".join(parts[:2]) in K8S_VERSIONS:
        return f"v{wanted}"
    raise ValueError(
        f"{K8S_VERSION_ENV}={requested if requested is not None else wanted!r} is not a supported "
        f"Kubernetes version; supported minors: {', '.join(K8S_VERSIONS)}"
    )


K8S_VERSION = k8s_version()  # the version this process's tests and clusters use
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
