"""`python -m ironflow_testbed up [--node [--nodes N]]|down|status --dir DIR`: a local cluster for developers.

`up` starts the processes as daemons (own sessions, PIDs recorded in DIR/state.json, the node's
in DIR/node/node.json) and returns once everything is ready; `--node` adds a real node
(containerd, kubelet, kube-scheduler) so pods run, `--nodes 2` a second one (DIR/node2). `down`
stops exactly those processes, waits for them, and undoes what the nodes did to the machine
(mounts, bridge, cgroups, sysctls).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from ironflow_testbed import nodeimages, noderuntime, processes
from ironflow_testbed.binaries import find_bin_dir
from ironflow_testbed.components import Layout
from ironflow_testbed.controlplane import ControlPlane, stop_recorded
from ironflow_testbed.node import Node, NodeState, NodeUnavailable, admin_kubectl, unavailable_reason
from ironflow_testbed.nodecleanup import clean_node
from ironflow_testbed.nodeconfig import MAX_NODES, NodeLayout, node_dir
from ironflow_testbed.readiness import ComponentFailed, Prober
from ironflow_testbed.state import ClusterState


def _running(layout: Layout) -> ClusterState | None:
    state = ClusterState.load(layout.state)
    if state is not None and state.processes and all(processes.is_alive(r) for r in state.processes):
        return state
    return None


def _usage(layout: Layout) -> str:
    kubectl = layout.root / "bin" / "kubectl"
    return (
        f"  export KUBECONFIG={layout.kubeconfig}\n"
        f"  {kubectl} --kubeconfig {layout.kubeconfig} get namespaces\n"
        f"  logs: {layout.root}/*.log, audit: {layout.audit_log}\n"
        f"  stop: python -m ironflow_testbed down --dir {layout.root}   (or make cluster-down)"
    )


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _node_layouts(layout: Layout) -> list[NodeLayout]:
    """The cluster's node directories that hold a started node, the first one first."""
    found = [NodeLayout(node_dir(layout.root, 0))]
    for index in range(1, MAX_NODES):
        extra = NodeLayout(node_dir(layout.root, index), index)
        if extra.state.exists():
            found.append(extra)
    return found


def _alive(node: NodeLayout) -> bool:
    return node.state.exists() and all(processes.is_alive(r) for r in _node_records(node))


def _node_running(layout: Layout, count: int = 1) -> bool:
    nodes = [n for n in _node_layouts(layout) if n.state.exists()]
    return len(nodes) >= count and all(processes.is_alive(r) for n in nodes for r in _node_records(n))


def _node_records(node: NodeLayout) -> list[processes.ProcessRecord]:
    state = NodeState.load(node.state)
    return list(state.processes) if state else []


def up(directory: Path, bin_dir: str | None, timeout: float, with_node: bool, nodes: int = 1) -> int:
    layout = Layout(directory.resolve())
    state = _running(layout)
    if state is not None and (_node_running(layout, nodes) or not with_node):
        print(f"envtest: already running at {state.server}\n{_usage(layout)}")
        return 0
    bins = find_bin_dir(bin_dir if bin_dir else (state.bin_dir if state else None))
    reason = unavailable_reason(bins) if with_node else None
    if reason is not None:
        print(
            f"envtest: no node on this machine: {reason} (control plane alone: no --node; make: NODE=0)",
            file=sys.stderr,
        )
        return 3
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    if state is None:
        _stop_everything(layout)  # leftovers of a half-dead previous run
        plane = ControlPlane(layout.root, bins, die_with_parent=False, timeout=timeout)
        try:
            plane.start()
        except (ComponentFailed, KeyboardInterrupt) as error:
            print(f"envtest: start failed, everything stopped: {error}", file=sys.stderr)
            return 1
        server, timings = plane.server, plane.describe_timings()
        print(f"envtest: control plane ready at {server} ({timings})")
    else:
        server = state.server
    for index in range(nodes if with_node else 0):
        node = Node(layout.root, bins, server, die_with_parent=False, timeout=timeout, index=index)
        if _alive(node.layout):
            continue  # `up --nodes 2` after `up --node`: the first node runs already
        try:
            node.start()
        except (ComponentFailed, NodeUnavailable, KeyboardInterrupt, RuntimeError) as error:
            _stop_everything(layout)
            print(f"envtest: node start failed, everything stopped: {error}", file=sys.stderr)
            return 1
        print(f"envtest: node {node.name} ({node.layout.root}) Ready ({node.describe_timings()})")
    print(_usage(layout))
    return 0


def _stop_everything(layout: Layout) -> list[str]:
    """The node first (its pods while the API server still answers), then the control plane."""
    problems: list[str] = []
    node = NodeLayout(layout.root / "node")
    state = ClusterState.load(layout.state)
    if node.state.exists() or node.containerd_config.exists():
        bins = Path(state.bin_dir) if state else find_bin_dir()
        kubectl = admin_kubectl(bins, layout)
        problems += clean_node(node, bins, kubectl if state else None)
    problems += [f"still alive: {r}" for r in stop_recorded(layout.root)]
    return problems


def down(directory: Path) -> int:
    layout = Layout(directory.resolve())
    node = NodeLayout(layout.root / "node")
    state = ClusterState.load(layout.state)
    if state is None and not node.state.exists():
        print(f"envtest: nothing recorded in {layout.root}; nothing to stop")
        return 0
    problems = _stop_everything(layout)
    for problem in problems:
        print(f"envtest: {problem}", file=sys.stderr)
    print(f"envtest: stopped{' with problems' if problems else ''}: {layout.root}")
    return 1 if problems else 0


def status(directory: Path) -> int:
    layout = Layout(directory.resolve())
    state = ClusterState.load(layout.state)
    if state is None:
        print(f"envtest: not running (no state in {layout.root})")
        return 1
    alive = {r.name: processes.is_alive(r) for r in state.processes}
    prober = Prober(layout.cert("ca"), layout.cert("admin"), layout.key("admin"))
    ready = all(alive.values()) and prober.ok(f"{state.server}/readyz")
    nodes = [(f"{r.name} ({node.name})", r) for node in _node_layouts(layout) for r in _node_records(node)]
    for label, record in [*((r.name, r) for r in state.processes), *nodes]:
        alive[label] = processes.is_alive(record)
        print(f"  {label:<26} pid {record.pid:<8} {'running' if alive[label] else 'DEAD'}")
    ready = ready and all(alive.values())
    print(f"envtest: {state.server} {'ready' if ready else 'NOT ready'}; kubeconfig {layout.kubeconfig}")
    return 0 if ready else 1


def import_image(directory: Path, archives: list[Path]) -> int:
    """Image archives (`make image`'s) into every running node's containerd, for pods that use
    them with `imagePullPolicy: Never` or `IfNotPresent` (there is no registry)."""
    cluster = Layout(directory.resolve())
    if not _node_running(cluster) or not NodeLayout(node_dir(cluster.root, 0)).socket.exists():
        print(f"envtest: no node running in {directory} (make cluster starts one)", file=sys.stderr)
        return 1
    for node in _node_layouts(cluster):
        code = _import_into(node, archives)
        if code:
            return code
    return 0


def _import_into(node: NodeLayout, archives: list[Path]) -> int:
    ctr = noderuntime.Runtime.load(node).tool("ctr")  # the ctr of the containerd the node runs
    for archive in archives:
        if not archive.is_file():
            print(f"envtest: {archive} does not exist (make image writes it)", file=sys.stderr)
            return 2
        try:
            nodeimages.import_archive(node.socket, archive, ctr=ctr)
        except subprocess.CalledProcessError as error:
            print(f"envtest: ctr could not import {archive}: {error.stderr.strip()}", file=sys.stderr)
            return 1
        # ctr's output differs between containerd 1.6 and 2.x: ask containerd for the names instead
        held = nodeimages.image_names(node.socket, ctr)
        names = [name for name in nodeimages.archive_image_names(archive) if name in held]
        print(f"envtest: imported {archive} into the node's containerd ({node.socket}, namespace k8s.io): "
              f"{', '.join(names) or 'no image name in the archive'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ironflow_testbed", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status"):
        sub = commands.add_parser(name)
        sub.add_argument("--dir", type=Path, default=Path(".cluster"), help="cluster directory")
        if name == "up":
            sub.add_argument(
                "--bin-dir", help="control-plane binaries (default: $IRONFLOW_CP_DIR or the cache)"
            )
            sub.add_argument("--timeout", type=float, default=180.0, help="seconds per readiness wait")
            sub.add_argument(
                "--node",
                action="store_true",
                help="also a real node (containerd, kubelet, scheduler): pods run",
            )
            sub.add_argument(
                "--nodes",
                type=int,
                default=1,
                choices=range(1, MAX_NODES + 1),
                help="with --node: how many nodes (each its own containerd and kubelet)",
            )
    importer = commands.add_parser("import-image", help="import image archives into the running node")
    importer.add_argument("--dir", type=Path, default=Path(".cluster"), help="cluster directory")
    importer.add_argument("archives", type=Path, nargs="+", help="OCI or Docker image archives")
    args = parser.parse_args(argv)
    if args.command == "import-image":
        return import_image(args.dir, args.archives)
    if args.command == "up":
        try:
            return up(args.dir, args.bin_dir, args.timeout, args.node, args.nodes)
        except FileNotFoundError as error:
            print(f"envtest: {error}", file=sys.stderr)
            return 2
    if args.command == "down":
        return down(args.dir)
    return status(args.dir)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader (`| head`) left; the command itself has done its work
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
