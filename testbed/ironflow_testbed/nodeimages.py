"""The node's two images, built from Debian's busybox-static and imported into its containerd.

- pause (the pod sandbox): busybox `sleep inf` as PID 1. A sandbox process only has to hold the
  pod's namespaces: pods here do not share their PID namespace (nothing for it to reap), and
  containerd stops a sandbox with SIGKILL, which `sleep` cannot ignore. Kubernetes' own pause
  binary is not packaged by Debian and no registry is reachable.
- busybox (test pods): every applet as a symlink in /bin, so `env`, `cat`, `sh` are there.

Both are named under `.invalid` and run with `imagePullPolicy: Never`; the kubelet never
collects them (imageGCHighThresholdPercent: 100).
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

from ironflow_testbed import oci
from ironflow_testbed.nodeconfig import BUSYBOX_IMAGE, PAUSE_IMAGE

BUSYBOX = Path("/bin/busybox")
_DIRS = ("dev", "etc", "proc", "sys", "tmp", "var")


def _base(busybox: bytes) -> list[oci.Entry]:
    return [oci.Entry(f"/{name}", mode=0o1777 if name == "tmp" else 0o755) for name in _DIRS] + [
        oci.Entry("/bin/busybox", busybox, mode=0o755)
    ]


def pause_image(busybox: bytes) -> oci.Image:
    return oci.Image(PAUSE_IMAGE, _base(busybox), entrypoint=("/bin/busybox", "sleep", "inf"))


def busybox_image(busybox: bytes, applets: list[str]) -> oci.Image:
    links = [
        oci.Entry(f"/bin/{name}", symlink="busybox") for name in sorted(set(applets)) if name != "busybox"
    ]
    return oci.Image(BUSYBOX_IMAGE, _base(busybox) + links, cmd=("sh",))


def applets(busybox: Path = BUSYBOX) -> list[str]:
    listed = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.split() if "/" not in name]


def write_images(directory: Path, busybox: Path = BUSYBOX) -> list[oci.Written]:
    data = busybox.read_bytes()
    return [
        oci.write(pause_image(data), directory / "pause.tar"),
        oci.write(busybox_image(data, applets(busybox)), directory / "busybox.tar"),
    ]


def import_images(socket: Path, archives: list[Path], timeout: float = 120.0, ctr: str = "ctr") -> None:
    """`ctr -n k8s.io images import`: the CRI plugin serves the images of namespace k8s.io."""
    for archive in archives:
        import_archive(socket, archive, timeout, ctr)


def import_archive(socket: Path, archive: Path, timeout: float = 300.0, ctr: str = "ctr") -> str:
    """One archive into the node's containerd, whose socket is `<cluster dir>/node/containerd.sock`
    (not /run/containerd/containerd.sock: the node runs its own containerd), with the `ctr` of the
    containerd the node runs; ctr's output."""
    done = subprocess.run(
        [ctr, "--address", str(socket), "--namespace", "k8s.io", "images", "import", str(archive)],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.stdout


_NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")


def archive_image_names(archive: Path) -> list[str]:
    """The image names an archive carries: an OCI layout's index annotations (a full reference,
    as containerd names what it imports), or a Docker archive's RepoTags. Read from the archive,
    not from ctr's output, whose wording differs between containerd 1.6 and 2.x."""
    with tarfile.open(archive) as tar:
        members = {member.name.removeprefix("./"): member for member in tar.getmembers()}
        names: list[str] = []
        if "index.json" in members and (index := tar.extractfile(members["index.json"])) is not None:
            for manifest in json.load(index).get("manifests") or []:
                annotations = manifest.get("annotations") or {}
                named = [annotations[key] for key in _NAME_ANNOTATIONS if "/" in annotations.get(key, "")]
                names += named[:1]
        elif "manifest.json" in members and (docker := tar.extractfile(members["manifest.json"])) is not None:
            for entry in json.load(docker):
                names += list(entry.get("RepoTags") or [])
    return names


def image_names(socket: Path, ctr: str = "ctr", timeout: float = 60.0) -> set[str]:
    """The names of the images the node's containerd holds (namespace k8s.io)."""
    done = subprocess.run(
        [ctr, "--address", str(socket), "--namespace", "k8s.io", "images", "ls", "-q"],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return set(done.stdout.split())
