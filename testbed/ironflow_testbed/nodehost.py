"""What a node changes on the machine itself, and how to put all of it back.

A kubelet and containerd leave state in the kernel, not only in files: cgroup directories,
mounts (overlay roots, netns, the kubelet's bind mount of its own root), the pod bridge,
shims that outlive their containerd, and sysctls the kubelet sets. Each is found again from
what is named in `nodeconfig` and the node directory, so a later run can clean up after a run
that was killed with SIGKILL. The original sysctl values live in one machine-wide record
(/run/ironflow-node.json) written before anything is changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ironflow_testbed.nodeconfig import BRIDGE, CGROUP_ROOT, SYSCTLS

MACHINE_RECORD = Path("/run/ironflow-node.json")
# Directories created outside the node directory whatever the components are told: containerd's
# shim sockets, libcni's result cache, the kubelet's device-plugin directory and its legacy
# /var/log/containers symlinks. Removed at the end only if the node created them.
OUTSIDE_DIRS = (
    Path("/run/containerd"),
    Path("/var/lib/cni"),
    Path("/var/lib/kubelet"),
    Path("/var/log/containers"),
)
CONTAINER_LOG_LINKS = Path("/var/log/containers")
MNT_DETACH = 2


@dataclass
class MachineRecord:
    """The node that owns this machine's node resources, and what to restore when it is gone."""

    node_dir: str
    sysctls: dict[str, str]
    created: list[str] = field(default_factory=list)
    # more nodes of the same cluster ({"dir": ..., "index": ...}): each adds itself when it starts,
    # removes itself when it stops; the first node's clean-up stops those left first
    extra_nodes: list[dict[str, str | int]] = field(default_factory=list)

    def save(self, path: Path = MACHINE_RECORD) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = MACHINE_RECORD) -> MachineRecord | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls(
            str(data["node_dir"]),
            dict(data["sysctls"]),
            list(data.get("created", [])),
            list(data.get("extra_nodes", [])),
        )


def unavailable_reason() -> str | None:
    """Why this machine cannot run a node, in one line; None when it can."""
    if os.geteuid() != 0:
        return "needs root (containerd, runc, cgroups, mounts and a bridge)"
    if not cgroup_hierarchies():
        return "no cgroup file system mounted under /sys/fs/cgroup"
    for tool in ("runc", "ip"):  # containerd itself: noderuntime.Runtime.unavailable_reason
        if shutil.which(tool) is None:
            return f"{tool} not found: run hack/install-node-deps.sh"
    if not (Path("/usr/lib/cni/bridge").exists() and Path("/bin/busybox").exists()):
        return "CNI plugins or busybox-static missing: run hack/install-node-deps.sh"
    return None


def read_sysctls() -> dict[str, str]:
    return {name: Path("/proc/sys", name).read_text().strip() for name in SYSCTLS}


def restore_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        path = Path("/proc/sys", name)
        if path.read_text().strip() != value:
            path.write_text(value + "\n")


def _mountinfo() -> list[tuple[str, str, str]]:
    """(mount point, fs type, source) of every mount in this namespace, octal escapes decoded."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, after = line.split(" - ", 1)
        point = before.split()[4].encode().decode("unicode_escape")
        fstype, source = after.split()[:2]
        mounts.append((point, fstype, source))
    return mounts


def cgroup_hierarchies() -> list[Path]:
    """Every cgroup v1 hierarchy (and a cgroup2 one, hybrid or unified) the kubelet may write to."""
    return sorted({Path(p) for p, fstype, _ in _mountinfo() if fstype in ("cgroup", "cgroup2")})


def mounts_under(directory: Path) -> list[str]:
    root = str(directory.resolve())
    points = [p for p, _, _ in _mountinfo() if p == root or p.startswith(root + "/")]
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_under(directory: Path) -> list[str]:
    """Lazily unmount everything at or below `directory`, deepest first; returns what stayed."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    for _ in range(5):  # a bind mount may be stacked several times over the same point
        points = mounts_under(directory)
        if not points:
            return []
        for point in points:
            libc.umount2(point.encode(), MNT_DETACH)
    return mounts_under(directory)


def create_cgroup_root(root: str = CGROUP_ROOT) -> None:
    """The kubelet wants its cgroupRoot to exist in every hierarchy before it starts."""
    for hierarchy in cgroup_hierarchies():
        target = hierarchy / root.lstrip("/")
        target.mkdir(exist_ok=True)
        if (hierarchy / "cpuset.cpus").exists():  # a new cpuset starts empty: nothing could run
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not (target / name).read_text().strip():
                    (target / name).write_text((target.parent / name).read_text())


def _cgroup_dirs(root: str = CGROUP_ROOT) -> list[Path]:
    found = []
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / root.lstrip("/")
        if top.is_dir():
            found += [Path(d) for d, _, _ in os.walk(top)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def kill_cgroup_processes(root: str = CGROUP_ROOT) -> None:
    """SIGKILL whatever still runs in the node's cgroups (containers whose shim died)."""
    for directory in _cgroup_dirs(root):
        try:
            pids = (directory / "cgroup.procs").read_text().split()
        except OSError:
            continue
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def remove_cgroups(timeout: float = 15.0, root: str = CGROUP_ROOT) -> list[Path]:
    """rmdir the node's cgroup trees bottom-up (a cgroup goes once its last process is reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        kill_cgroup_processes(root)
        for directory in _cgroup_dirs(root):
            with contextlib.suppress(OSError):
                directory.rmdir()
        left = _cgroup_dirs(root)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def kill_shims(socket: Path) -> list[int]:
    """SIGKILL the runc shims started for containerd on `socket` (they outlive containerd)."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(socket).encode() in argv:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except ProcessLookupError:
                pass
    return killed


def bridge_exists() -> bool:
    return Path("/sys/class/net", BRIDGE).exists()


def delete_bridge() -> None:
    if bridge_exists():
        subprocess.run(["ip", "link", "delete", BRIDGE], check=False, capture_output=True)


def absent_outside_dirs() -> list[str]:
    return [str(d) for d in OUTSIDE_DIRS if not d.exists()]


def remove_log_links(directory: Path) -> None:
    """The kubelet's /var/log/containers symlinks into `directory` (the dir may predate the node)."""
    root = str(directory.resolve()) + "/"
    if not CONTAINER_LOG_LINKS.is_dir():
        return
    for link in CONTAINER_LOG_LINKS.iterdir():
        if link.is_symlink() and os.readlink(link).startswith(root):
            link.unlink(missing_ok=True)


def remove_created(created: list[str]) -> None:
    for path in created:
        shutil.rmtree(path, ignore_errors=True)
