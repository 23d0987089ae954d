"""Which containerd the node runs, and its configuration in the format that major version reads.

containerd 2 is the default: kubelet 1.36 already counts containerd 1.x as losing support, and the
next kubelet will require 2.x. It is built from its Go module (hack/build-containerd.sh, cached per
version outside the repo). Debian's containerd 1.6 stays selectable with `IRONFLOW_CONTAINERD=1.6`
so both keep being tested. The choice is written into the node directory, so clean-up after a
killed run restarts the same containerd on the same state.

The two configurations say the same things in different places: 2.x (config version 3) split the
CRI plugin into `io.containerd.cri.v1.images` (snapshotter, the pinned sandbox image) and
`io.containerd.cri.v1.runtime` (runc, CNI, `restrict_oom_score_adj`), leaving only the streaming
server in `io.containerd.grpc.v1.cri`, and it added NRI, which would create a socket under
/var/run unless disabled.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ironflow_testbed.nodeconfig import CNI_BIN_DIR, PAUSE_IMAGE, NodeLayout

CONTAINERD_VERSION = "v2.4.2"  # keep in step with hack/build-containerd.sh
SELECT_ENV = "IRONFLOW_CONTAINERD"  # "2" (default) or "1.6"
DIR_ENV = "IRONFLOW_CONTAINERD_DIR"  # where containerd 2's binaries are (the build script's output)
TOOLS = ("containerd", "containerd-shim-runc-v2", "ctr")
_LEGACY = ("1", "1.6")
_CURRENT = ("", "2", CONTAINERD_VERSION, CONTAINERD_VERSION.lstrip("v"))


@dataclass(frozen=True)
class Runtime:
    """containerd of one major version; `bin_dir` None means the Debian package on PATH."""

    major: int
    bin_dir: Path | None

    @property
    def label(self) -> str:
        return f"containerd {CONTAINERD_VERSION}" if self.major >= 2 else "containerd 1.6 (Debian)"

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name) if self.bin_dir is not None else name

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """containerd finds its shim on PATH: ours must come before the Debian package's."""
        env = dict(os.environ if base is None else base)
        if self.bin_dir is not None:
            env["PATH"] = os.pathsep.join(p for p in (str(self.bin_dir), env.get("PATH", "")) if p)
        return env

    def unavailable_reason(self) -> str | None:
        for name in TOOLS:
            found = os.access(self.bin_dir / name, os.X_OK) if self.bin_dir else shutil.which(name)
            if not found:
                where = f"in {self.bin_dir}: run hack/build-containerd.sh" if self.bin_dir else "on PATH"
                fix = "" if self.bin_dir else ": run hack/install-node-deps.sh"
                return f"{name} ({self.label}) not found {where}{fix}"
        return None

    def save(self, layout: NodeLayout) -> None:
        record = {"major": self.major, "bin_dir": str(self.bin_dir) if self.bin_dir else None}
        layout.runtime_record.write_text(json.dumps(record) + "\n")

    @classmethod
    def load(cls, layout: NodeLayout) -> Runtime:
        """The runtime a node directory was started with; Debian's for a directory from before the choice."""
        try:
            data = json.loads(layout.runtime_record.read_text())
        except (FileNotFoundError, ValueError):
            return cls(1, None)
        return cls(int(data["major"]), Path(data["bin_dir"]) if data.get("bin_dir") else None)


def default_dir(environ: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """The build script's default output directory (same cache root, same key).

    The account's home from the password database, not $HOME: test sessions point HOME at a
    scratch directory, and the build cache is the machine's, not the session's.
    """
    env = os.environ if environ is None else environ
    home = home or Path(pwd.getpwuid(os.getuid()).pw_dir)
    cache = env.get("IRONFLOW_CACHE_DIR") or str(home / ".cache" / "ironflow")
    return Path(cache) / "containerd" / CONTAINERD_VERSION


def select(environ: Mapping[str, str] | None = None, home: Path | None = None) -> Runtime:
    """`IRONFLOW_CONTAINERD`: 2 (default, built) or 1.6 (Debian); anything else is refused."""
    env = os.environ if environ is None else environ
    wanted = env.get(SELECT_ENV, "").strip()
    if wanted in _LEGACY:
        return Runtime(1, None)
    if wanted in _CURRENT:
        return Runtime(2, Path(env.get(DIR_ENV) or default_dir(env, home)).expanduser())
    raise ValueError(f"{SELECT_ENV}={wanted!r}: expected 2 (containerd {CONTAINERD_VERSION}) or 1.6 (Debian)")


def _s(value: object) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _common(layout: NodeLayout, version: int) -> str:
    # Plugins that would reach outside the node directory (/opt, /var/run/nri) or that this machine
    # cannot use; names that a version does not have are ignored by it.
    return f"""version = {version}
root = {_s(layout.containerd_root)}
state = {_s(layout.containerd_state)}
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.nri.v1.nri"]

[grpc]
  address = {_s(layout.socket)}

[metrics]
  address = ""
"""


def _runc(section: str, layout: NodeLayout) -> str:
    return f"""  [{section}.containerd]
    default_runtime_name = "runc"
    [{section}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{section}.containerd.runtimes.runc.options]
        SystemdCgroup = false  # no systemd here; the kubelet uses cgroupfs too
        Root = {_s(layout.runc_root)}
"""


# root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj (Guaranteed pods) fails the sandbox
_RESTRICTIONS = """  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
"""
_STREAMING = """  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""


def containerd_v2_config(layout: NodeLayout) -> str:
    """containerd 1.6: config version 2, everything CRI under `io.containerd.grpc.v1.cri`."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return (
        _common(layout, 2)
        + f"\n[{cri}]\n  sandbox_image = {_s(PAUSE_IMAGE)}\n"
        + _RESTRICTIONS
        + _STREAMING
        + f'  [{cri}.containerd]\n    snapshotter = "overlayfs"\n'
        + _runc(cri, layout).split("\n", 1)[1]
        + f"  [{cri}.cni]\n    bin_dir = {_s(CNI_BIN_DIR)}\n    conf_dir = {_s(layout.cni_conf_dir)}\n"
    )


def containerd_v3_config(layout: NodeLayout) -> str:
    """containerd 2.x: config version 3, CRI split into images, runtime and the streaming server."""
    images = 'plugins."io.containerd.cri.v1.images"'
    runtime = 'plugins."io.containerd.cri.v1.runtime"'
    return (
        _common(layout, 3)
        + f'\n[{images}]\n  snapshotter = "overlayfs"\n'
        + f"  [{images}.pinned_images]\n    sandbox = {_s(PAUSE_IMAGE)}\n"
        + f"\n[{runtime}]\n"
        + _RESTRICTIONS
        + _runc(runtime, layout)
        + f"  [{runtime}.cni]\n    bin_dirs = [{_s(CNI_BIN_DIR)}]\n    conf_dir = {_s(layout.cni_conf_dir)}\n"
        + '\n[plugins."io.containerd.grpc.v1.cri"]\n'
        + _STREAMING
    )


def containerd_toml(layout: NodeLayout, runtime: Runtime) -> str:
    return containerd_v3_config(layout) if runtime.major >= 2 else containerd_v2_config(layout)
