"""`make bench-scale`: Ironflow's replicas sharing 100,000 resources in 1,000 namespaces, on demand.

Per replica count (`--replicas 1 2 4`), on a fresh embedded control plane (audit log on): the
raw write rate of the run (operator_bench.raw_write_rate, the ceiling), the namespaces and the
resources created (half IronflowSecrets, half IronflowConfigs, resource i in namespace i mod M),
then R operator processes of one release (replica_group.py) serving `scale-*`. Measured: cold
start to all Ready, a change of every value (time; writes/s as a share of the raw rate), writes
per resource and per replica (audit log), each replica's peak RSS against the chart's memory
limit, changes lost (every projected value against its final spec). With `--kill-with` replicas
(4), a second change of every value during which the replica that wrote most so far is killed
with SIGKILL half way: seconds until each of its namespaces is written by another replica, and
for every run namespaces written by two replicas in overlapping windows (replica_audit.py).
Then the Sealed Secrets controller at the same N (peer_bench.py), each phase capped. Tables go
into docs/benchmarks.md (scale_report.py), raw results beside the other benchmark results.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import peer_bench
import scale_report
from bench import chart_memory_limit_mib
from kubernetes import client
from operator_bench import OP_NS, USER, Phases, prepare, raw_write_rate, settle_writes, wait
from ready_tracker import ReadyTracker
from replica_audit import ReplicaWrites, overlapping_namespaces, served_again, writes_by_replica
from replica_group import ReplicaGroup
from scale_cluster import PREFIX, create_namespaces, leader, lost_changes, write_all

from ironflow_testbed.controlplane import ControlPlane

ROOT = Path(__file__).resolve().parent.parent


class Run:
    """One replica count on its own control plane; `measure()` returns its results."""

    def __init__(self, replicas: int, args: argparse.Namespace, workdir: Path) -> None:
        self.replicas, self.args, self.workdir = replicas, args, workdir
        self.n, self.count = args.resources, args.resources // 2
        self.out: dict[str, Any] = {"replicas": replicas, "n": self.n, "namespaces": args.namespaces}
        self.stuck_at, self.final = "", "one"

    def measure(self) -> dict[str, Any]:
        plane = ControlPlane(self.workdir / "cp", die_with_parent=True)
        plane.start()
        try:
            api, self.public = prepare(plane)
            core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
            self.out["raw_rate"] = raw_write_rate(core, min(self.n, self.args.raw_count))
            create_namespaces(core, self.args.namespaces)
            seconds = self.write("one", range(self.count), create=True)
            self.out["create_rate"] = self.n / seconds
            kubeconfig = plane.user_kubeconfig(
                self.workdir / "operator.kubeconfig", USER, ("system:masters",)
            )
            self.audit = ReplicaWrites(plane.audit.path, USER, PREFIX)
            self.phases = Phases(self.audit)
            sharding = self.replicas > 1 and self.args.sharding
            self.out["sharding"] = sharding
            group = ReplicaGroup(
                kubeconfig, self.workdir, self.replicas, sharding, self.args.lease_duration, f"{PREFIX}*"
            )
            self.tracker = ReadyTracker(api)
            try:
                self.tracker.start()
                try:
                    self.phases_of(group)
                    if self.replicas == self.args.kill_with:
                        self.kill_phase(group, api)
                except TimeoutError as stuck:  # a figure too: the next replica count still runs
                    self.out["stopped"] = (
                        f"{stuck} not done in {self.args.timeout:g} s ({self.stuck_at} Ready)"
                    )
                self.out["lost"] = lost_changes(core, self.count, self.args.namespaces, self.final)
            finally:
                self.out["hwm"] = group.read_peaks()
                group.stop()
                self.tracker.stop()
            spans = self.audit.spans()
            overlaps = overlapping_namespaces(spans, self.args.gap)
            self.out["overlaps"] = {ns: sorted(r) for ns, r in sorted(overlaps.items())}
            self.out["writes_by_replica"] = writes_by_replica(spans, 0, time.time())
            self.out["phases"] = self.phases.out
            return self.out
        finally:
            plane.stop()

    def write(self, value: str, indices: range, create: bool = False) -> float:
        return write_all(self.custom, self.public, indices, self.args.namespaces, value, create)

    def settled(self, generation: int, what: str) -> float:
        def done() -> bool:
            self.stuck_at = f"{self.tracker.current(generation)} of {self.n}"
            return self.tracker.current(generation) >= self.n

        return wait(done, self.args.timeout, what, 0.5)

    def phases_of(self, group: ReplicaGroup) -> None:
        """Cold start to all Ready, then a change of every value."""
        group.start()
        self.final = "one"  # the value every projection must hold in the end, as the phases go
        cold = self.settled(1, "cold start")
        settle_writes(self.audit, 3 * self.n)
        self.phases.record("cold", cold, group.cpu())
        cpu, started = group.cpu(), time.monotonic()
        self.final = "two"
        self.write("two", range(self.count))
        self.settled(2, "change")
        seconds = time.monotonic() - started
        settle_writes(self.audit, 5 * self.n)
        self.phases.record("change", seconds, group.cpu() - cpu)
        group.read_peaks()

    def kill_phase(self, group: ReplicaGroup, api: client.ApiClient) -> None:
        """A change of every value; half way the replica that wrote most in it so far gets SIGKILL.
        What was seen of the hand-over is kept even when the change never completes."""
        since, started = time.time(), time.monotonic()
        half = self.count // 2
        self.final = "three"
        self.write("three", range(half))
        so_far = writes_by_replica(self.audit.spans(), since, time.time())
        live = sorted(group.live(), key=lambda r: (so_far.get(r, 0), r))
        victim = live[-1]
        kill = self.out["kill"] = {
            "victim": victim,
            "was_leader": leader(api, OP_NS) == victim,
            "writes_before": so_far,
            "lease_duration": self.args.lease_duration,
        }
        group.kill(victim)
        kill_at = time.time()
        kill["after_seconds"] = kill_at - since
        try:
            self.write("three", range(half, self.count))
            self.settled(3, "change with a kill")
            seconds = time.monotonic() - started
            settle_writes(self.audit, 7 * self.n)
            self.phases.record("kill", seconds, 0.0)
        finally:
            kill["served_again"] = served_again(self.audit.spans(), victim, since, kill_at)


def peer(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.peer_dir is None:
        return None
    with tempfile.TemporaryDirectory(prefix="ironflow-scale-peer-") as tmp:
        try:
            return peer_bench.run(args.resources, Path(tmp), args.peer_dir, args.peer_cap)
        except TimeoutError as stopped:
            return {
                "product": "Sealed Secrets",
                "n": args.resources,
                "cap": args.peer_cap,
                "stopped": str(stopped),
            }


def command(args: argparse.Namespace) -> list[str]:
    """The arguments that shape the figures (no paths: the tables name no machine's files)."""
    shape = ["--resources", str(args.resources), "--namespaces", str(args.namespaces)]
    shape += ["--replicas", ",".join(map(str, args.replicas)), "--kill-with", str(args.kill_with)]
    shape += [] if args.sharding else ["--no-sharding"]
    shape += ["--lease-duration", f"{args.lease_duration:g}", "--gap", f"{args.gap:g}"]
    return shape + ([] if args.peer_dir is None else ["--peer-cap", f"{args.peer_cap:g}"])


def stop_on_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP end the run through the `finally`s: operators and control plane stopped."""
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=100_000, help="total, half of each kind")
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--replicas", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4])
    parser.add_argument("--kill-with", type=int, default=4, help="replica count whose run has the kill phase")
    parser.add_argument(
        "--sharding",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--sharding for runs of more than one replica",
    )
    parser.add_argument("--lease-duration", type=float, default=15.0)
    parser.add_argument(
        "--gap", type=float, default=5.0, help="pause (s) that splits a replica's write window"
    )
    parser.add_argument(
        "--raw-count", type=int, default=10_000, help="ConfigMaps timed for the raw write rate"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds each wait may take")
    parser.add_argument(
        "--peer-dir", type=Path, help="hack/build-sealed-secrets.sh's output; without: no peer"
    )
    parser.add_argument("--peer-cap", type=float, default=1800, help="seconds each peer phase may take")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--results", type=Path, default=ROOT / ".build" / "bench-scale-results.json")
    args = parser.parse_args()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    runs = []
    for replicas in args.replicas:
        with tempfile.TemporaryDirectory(prefix=f"ironflow-scale-{replicas}-") as tmp:
            runs.append(Run(replicas, args, Path(tmp)).measure())
        print(json.dumps(runs[-1], default=dict), file=sys.stderr, flush=True)
    theirs = peer(args)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps({"runs": runs, "peer": theirs}, default=dict, indent=1))
    block = scale_report.render(runs, theirs, chart_memory_limit_mib(), command(args))
    args.output.write_text(scale_report.splice(args.output.read_text(), block))
    print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
