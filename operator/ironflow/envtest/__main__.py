"""`python -m ironflow.envtest up|down|status --dir DIR`: a local control plane for developers.

`up` starts the processes as daemons (own sessions, PIDs recorded in DIR/state.json) and
returns once everything is ready; `down` stops exactly those processes and waits for them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from ironflow.envtest import processes
from ironflow.envtest.components import Layout
from ironflow.envtest.controlplane import ControlPlane, stop_recorded
from ironflow.envtest.readiness import ComponentFailed, Prober
from ironflow.envtest.state import ClusterState


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
        f"  stop: python -m ironflow.envtest down --dir {layout.root}   (or make cluster-down)"
    )


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def up(directory: Path, bin_dir: str | None, timeout: float) -> int:
    layout = Layout(directory.resolve())
    state = _running(layout)
    if state is not None:
        print(f"envtest: already running at {state.server}\n{_usage(layout)}")
        return 0
    stop_recorded(layout.root)  # leftovers of a half-dead previous run
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    plane = ControlPlane(layout.root, bin_dir, die_with_parent=False, timeout=timeout)
    try:
        plane.start()
    except (ComponentFailed, KeyboardInterrupt) as error:
        print(f"envtest: start failed, everything stopped: {error}", file=sys.stderr)
        return 1
    print(f"envtest: control plane ready at {plane.server} ({plane.describe_timings()})\n{_usage(layout)}")
    return 0


def down(directory: Path) -> int:
    layout = Layout(directory.resolve())
    state = ClusterState.load(layout.state)
    if state is None:
        print(f"envtest: nothing recorded in {layout.root}; nothing to stop")
        return 0
    survivors = stop_recorded(layout.root)
    print(f"envtest: stopped {len(state.processes) - len(survivors)} of {len(state.processes)} processes")
    return 1 if survivors else 0


def status(directory: Path) -> int:
    layout = Layout(directory.resolve())
    state = ClusterState.load(layout.state)
    if state is None:
        print(f"envtest: not running (no state in {layout.root})")
        return 1
    alive = {r.name: processes.is_alive(r) for r in state.processes}
    prober = Prober(layout.cert("ca"), layout.cert("admin"), layout.key("admin"))
    ready = all(alive.values()) and prober.ok(f"{state.server}/readyz")
    for record in state.processes:
        print(f"  {record.name:<26} pid {record.pid:<8} {'running' if alive[record.name] else 'DEAD'}")
    print(f"envtest: {state.server} {'ready' if ready else 'NOT ready'}; kubeconfig {layout.kubeconfig}")
    return 0 if ready else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ironflow.envtest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status"):
        sub = commands.add_parser(name)
        sub.add_argument("--dir", type=Path, default=Path(".cluster"), help="cluster directory")
        if name == "up":
            sub.add_argument(
                "--bin-dir", help="control-plane binaries (default: $IRONFLOW_CP_DIR or the cache)"
            )
            sub.add_argument("--timeout", type=float, default=180.0, help="seconds per readiness wait")
    args = parser.parse_args(argv)
    if args.command == "up":
        try:
            return up(args.dir, args.bin_dir, args.timeout)
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
