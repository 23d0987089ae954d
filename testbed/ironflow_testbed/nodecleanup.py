"""Stopping a node so that nothing is left: the order matters, and it must work after a SIGKILL.

Order (each step needs the previous one done): the node's pods are deleted while the API server
still runs (a pod bound to a node name would run again when a node of that name registers) ->
kubelet and scheduler stop -> every sandbox is stopped and removed through CRI (CNI DEL frees the
address and the veth, the netns goes), with containerd restarted on the same state if it died ->
containerd stops -> shims and container processes that outlived it are killed -> every mount
under the node directory goes (overlay roots, netns, the kubelet's bind mount of its root) ->
our iptables chains and the bridge (with its address) -> the cgroup trees -> the kubelet's log
symlinks in /var/log/containers -> the sysctls the kubelet changed, and the directories outside
the node directory that the node created.

A cluster may have more nodes than the first (`nodeconfig.node_dir`): each is listed in the
machine record, stops the same way up to its mounts and removes its own cgroup tree, and leaves
what the nodes share (the bridge, our iptables chains, the sysctls) to the first node's clean-up,
which stops the others first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from ironflow_testbed import nodehost, nodenet, processes
from ironflow_testbed.nodeconfig import BRIDGE, NODE_NAME, NodeLayout
from ironflow_testbed.noderuntime import Runtime
from ironflow_testbed.readiness import ComponentFailed, wait_until

_SHORT = 30.0


def _run(argv: list[str], timeout: float = _SHORT) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out: {error}")


def delete_pods_and_node(kubectl: list[str], name: str = NODE_NAME) -> None:
    """Best effort: without an API server (a killed session) there are no pods to bring back."""
    _run(
        [
            *kubectl,
            "delete",
            "pods",
            "--all-namespaces",
            f"--field-selector=spec.nodeName={name}",
            "--grace-period=0",
            "--force",
            "--wait=false",
        ]
    )
    _run([*kubectl, "delete", "node", name, "--wait=false", "--ignore-not-found"])


def _load_records(layout: NodeLayout) -> list[processes.ProcessRecord]:
    try:
        data = json.loads(layout.state.read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [processes.ProcessRecord(**r) for r in data.get("processes", [])]


def _ensure_containerd(layout: NodeLayout, running: bool) -> subprocess.Popen[bytes] | None:
    """containerd again on the same state when it died, so CRI can remove what it created."""
    if running or not layout.containerd_config.exists():
        return None
    runtime = Runtime.load(layout)
    proc, _ = processes.spawn(
        "containerd-cleanup",
        [runtime.tool("containerd"), "--config", str(layout.containerd_config)],
        layout.log("containerd"),
        die_with_parent=True,
        env=runtime.env(),
    )
    try:
        wait_until(
            lambda: _crictl_ok(layout),
            _SHORT,
            "containerd for clean-up",
            watch=[(proc, layout.log("containerd"))],
        )
    except ComponentFailed:
        processes.terminate(proc)
        return None
    return proc


def _crictl(layout: NodeLayout, bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(
        [str(bin_dir / "crictl"), f"--runtime-endpoint=unix://{layout.socket}", "--timeout=20s", *args]
    )


def _crictl_ok(layout: NodeLayout) -> bool:
    ctr = Runtime.load(layout).tool("ctr")
    return _run([ctr, "--address", str(layout.socket), "version"], 5).returncode == 0


def remove_sandboxes(layout: NodeLayout, bin_dir: Path) -> None:
    for sandbox in _crictl(layout, bin_dir, "pods", "--quiet").stdout.split():
        _crictl(layout, bin_dir, "stopp", sandbox)
        _crictl(layout, bin_dir, "rmp", "--force", sandbox)


def extra_layouts(record: nodehost.MachineRecord) -> list[NodeLayout]:
    return [NodeLayout(Path(str(extra["dir"])), int(extra["index"])) for extra in record.extra_nodes]


def clean_node(layout: NodeLayout, bin_dir: Path, kubectl: list[str] | None) -> list[str]:
    """Stop the node of `layout` and undo what it did to the machine; returns what could not be undone.

    The first node (the machine record's) stops the cluster's other nodes first and then removes
    what they share; another node removes only its own.
    """
    record = nodehost.MachineRecord.load()
    if layout.index > 0:  # never the shared bridge, rules or sysctls: the first node may still run
        problems = _stop_node(layout, bin_dir, kubectl)
        problems += [f"cgroup left: {path}" for path in nodehost.remove_cgroups(root=layout.cgroup_root)]
        nodehost.remove_log_links(layout.root)
        if record is not None:
            record.extra_nodes = [e for e in record.extra_nodes if Path(str(e["dir"])) != layout.root]
            record.save()
        layout.state.unlink(missing_ok=True)
        return problems
    problems = []
    if record is not None and Path(record.node_dir) == layout.root:
        for extra in extra_layouts(record):
            problems += clean_node(extra, bin_dir, kubectl)
    problems += _stop_node(layout, bin_dir, kubectl)
    return problems + _clean_machine(layout)


def lose_node(layout: NodeLayout) -> None:
    """A node lost, not drained (its machine gone): SIGKILL its kubelet, containerd, shims and
    containers, and nothing else (not the scheduler, which the first node starts for the cluster).
    Its mounts and sandboxes stay for `clean_node`, which restarts containerd to remove them."""
    records = [r for r in _load_records(layout) if r.name in ("kubelet", "containerd")]
    processes.kill(records)
    nodehost.kill_shims(layout.socket)
    nodehost.kill_cgroup_processes(root=f"{layout.cgroup_root}/kubepods")


def _stop_node(layout: NodeLayout, bin_dir: Path, kubectl: list[str] | None) -> list[str]:
    """The node's pods, processes, sandboxes, shims and mounts: everything but what nodes share."""
    if kubectl is not None and layout.state.exists():
        delete_pods_and_node(kubectl, layout.name)
    records = _load_records(layout)
    by_name = {r.name: r for r in records}
    processes.stop([r for r in records if r.name != "containerd"])
    containerd = by_name.get("containerd")
    alive = containerd is not None and processes.is_alive(containerd)
    helper = _ensure_containerd(layout, alive)
    if alive or helper is not None:
        remove_sandboxes(layout, bin_dir)
    if containerd is not None:
        processes.stop([containerd])
    if helper is not None:
        processes.terminate(helper)
    nodehost.kill_shims(layout.socket)
    nodehost.kill_cgroup_processes(root=layout.cgroup_root)
    return [f"still mounted: {point}" for point in nodehost.unmount_under(layout.root)]


def _clean_machine(layout: NodeLayout) -> list[str]:
    """What the first node set up for all: iptables, the bridge, cgroups, sysctls, outside dirs."""
    problems = nodenet.tear_down()
    nodehost.delete_bridge()  # its address and route_localnet go with it
    if nodehost.bridge_exists():
        problems.append(f"bridge {BRIDGE} still exists")
    problems += [f"cgroup left: {path}" for path in nodehost.remove_cgroups()]
    nodehost.remove_log_links(layout.root)
    record = nodehost.MachineRecord.load()
    if record is not None and Path(record.node_dir) == layout.root:
        nodehost.restore_sysctls(record.sysctls)
        nodehost.remove_created(record.created)
        nodehost.MACHINE_RECORD.unlink(missing_ok=True)
    layout.state.unlink(missing_ok=True)
    return problems


def clean_leftovers(bin_dir: Path) -> list[str]:
    """Before a node starts: whatever a previous node on this machine left (it may have been killed)."""
    record = nodehost.MachineRecord.load()
    if record is None:
        return []
    layout = NodeLayout(Path(record.node_dir))
    layouts = [layout, *extra_layouts(record)]
    if any(processes.is_alive(r) for each in layouts for r in _load_records(each)):
        raise RuntimeError(
            f"another node is running on this machine ({layout.root}): one node per machine; "
            "stop it first (python -m ironflow_testbed down, or make cluster-down)"
        )
    problems = clean_node(layout, bin_dir, None)
    if problems:
        raise RuntimeError(f"a previous node left things that cannot be removed: {'; '.join(problems)}")
    shutil.rmtree(record.node_dir, ignore_errors=True)
    return problems
