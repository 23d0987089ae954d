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

At 100,000 a whole run takes many hours of a 2-CPU machine, so it can be run in parts: each
invocation measures some replica counts (and the peer, or `--no-peer`), `--merge`s the results
files of earlier parts and draws one table over all of them (scale_parts.py); `--render-only`
draws the table of results files without a cluster. The results file is rewritten after every
replica count, so a part stopped later keeps what it measured. Progress goes to stderr
(progress.py): each step's begin and end, and about once a minute the count a wait is at.
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
import scale_parts
import scale_report
from bench import chart_memory_limit_mib
from kubernetes import client
from operator_bench import OP_NS, USER, Phases, prepare, raw_write_rate, settle_writes, wait
from progress import Progress, replicas_label
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
        self.progress = Progress(replicas_label(replicas))

    def measure(self) -> dict[str, Any]:
        plane = ControlPlane(self.workdir / "cp", die_with_parent=True)
        with self.progress.step("control plane started"):
            plane.start()
        try:
            api, self.public = prepare(plane)
            core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
            raw = min(self.n, self.args.raw_count)
            with self.progress.step(f"raw write rate, {raw:,} ConfigMaps"):
                self.out["raw_rate"] = raw_write_rate(core, raw)
            with self.progress.step(f"{self.args.namespaces:,} namespaces and {self.n:,} resources created"):
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
                kubeconfig, self.workdir, self.replicas, sharding, self.args.lease_duration, f"{PREFIX}*",
                self.args.log_level,
            )
            self.tracker = ReadyTracker(api)
            try:
                self.tracker.start()
                try:
                    self.phases_of(group)
                    if self.replicas == self.args.kill_with:
                        self.kill_phase(group, api)
                    if self.args.burst:
                        self.burst_phase(group)
                except TimeoutError as stuck:  # a figure too: the next replica count still runs
                    self.out["stopped"] = (
                        f"{stuck} not done in {self.args.timeout:g} s ({self.stuck_at} Ready)"
                    )
                with self.progress.step("changes lost, every projected value read"):
                    self.out["lost"] = lost_changes(core, self.count, self.args.namespaces, self.final)
            finally:
                self.out["hwm"] = group.read_peaks()
                group.stop()
                self.tracker.stop()
            with self.progress.step("write windows read from the audit log"):
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
        def ready() -> int:
            count = self.tracker.current(generation)
            self.stuck_at = f"{count} of {self.n}"
            return count

        done = self.progress.waiting(what, ready, self.n, "Ready")
        with self.progress.step(f"{what}, waiting for all Ready"):
            return wait(done, self.args.timeout, what, 0.5)

    def settle(self, at_least: int) -> None:
        with self.progress.step("audit log caught up"):
            settle_writes(self.audit, at_least)

    def phases_of(self, group: ReplicaGroup) -> None:
        """Cold start to all Ready, then a change of every value."""
        self.progress.line(f"cold start: {self.replicas} operator processes starting")
        group.start()
        self.final = "one"  # the value every projection must hold in the end, as the phases go
        cold = self.settled(1, "cold start")
        self.settle(3 * self.n)
        self.phases.record("cold", cold, group.cpu())
        cpu, started = group.cpu(), time.monotonic()
        self.final = "two"
        with self.progress.step(f"change: {self.n:,} values written"):
            self.write("two", range(self.count))
        self.settled(2, "change")
        seconds = time.monotonic() - started
        self.settle(5 * self.n)
        self.phases.record("change", seconds, group.cpu() - cpu)
        group.read_peaks()

    def kill_phase(self, group: ReplicaGroup, api: client.ApiClient) -> None:
        """A change of every value; half way the replica that wrote most in it so far gets SIGKILL.
        What was seen of the hand-over is kept even when the change never completes."""
        since, started = time.time(), time.monotonic()
        half = self.count // 2
        self.final = "three"
        with self.progress.step(f"change with a kill: first {2 * half:,} values written"):
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
        self.progress.line(f"change with a kill: {victim} killed with SIGKILL, {kill_at - since:,.0f} s in")
        try:
            with self.progress.step(f"change with a kill: other {self.n - 2 * half:,} values written"):
                self.write("three", range(half, self.count))
            self.settled(3, "change with a kill")
            seconds = time.monotonic() - started
            self.settle(7 * self.n)
            self.phases.record("kill", seconds, 0.0)
        finally:
            kill["served_again"] = served_again(self.audit.spans(), victim, since, kill_at)


    def burst_phase(self, group: ReplicaGroup) -> None:
        """Every value changed while the replicas are stopped (SIGSTOP), timed from their resumption
        until all Ready: what the replicas write per second when the client's writes do not share the
        CPUs with them (the change phase above is limited by those)."""
        generation = 4 if "kill" in self.phases.out else 3
        self.final = "four"
        group.pause()
        try:
            with self.progress.step(f"burst: {self.n:,} values written, replicas stopped"):
                self.write("four", range(self.count))
        finally:
            group.resume()
        cpu, started = group.cpu(), time.monotonic()
        self.settled(generation, "burst")
        seconds = time.monotonic() - started
        self.settle((2 * generation + 1) * self.n)  # 3 per resource cold, 2 per change since
        self.phases.record("burst", seconds, group.cpu() - cpu)


def peer(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.peer_dir is None or not args.peer:
        return None
    progress = Progress("Sealed Secrets")
    with tempfile.TemporaryDirectory(prefix="ironflow-scale-peer-") as tmp, progress.step("whole run"):
        try:
            return peer_bench.run(args.resources, Path(tmp), args.peer_dir, args.peer_cap, progress,
                                  partial=True)
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
    shape += ["--replicas", ",".join(map(str, args.replicas)) or "none", "--kill-with", str(args.kill_with)]
    shape += [] if args.sharding else ["--no-sharding"]
    shape += ["--lease-duration", f"{args.lease_duration:g}", "--gap", f"{args.gap:g}"]
    shape += ["--log-level", args.log_level] + (["--burst"] if args.burst else [])
    return shape + ([] if args.peer_dir is None or not args.peer else ["--peer-cap", f"{args.peer_cap:g}"])


def replica_counts(text: str) -> list[int]:
    """"1,2,4"; "none" for a part that measures only the peer."""
    return [] if text == "none" else [int(x) for x in text.split(",")]


def stop_on_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP end the run through the `finally`s: operators and control plane stopped."""
    raise SystemExit(128 + signum)


def save(results: scale_parts.Results, path: Path) -> None:
    """Whole or not at all: a run of hours killed while writing keeps the file it had."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, default=dict, indent=1))
    partial.replace(path)


def keep_unmerged(results: Path, merged: list[Path]) -> None:
    """Results of hours that this part does not add to are moved aside, not overwritten when its
    first replica count is saved (a forgotten --merge costs nothing)."""
    if results.exists() and results.resolve() not in {path.resolve() for path in merged}:
        kept = results.with_name(f"{results.stem}.previous{results.suffix}")
        results.replace(kept)
        print(f"{results} is not merged into this part: moved to {kept}", file=sys.stderr, flush=True)


def render(results: scale_parts.Results, output: Path) -> None:
    if not results["runs"]:
        print("no replica count measured in these results yet: no tables written", file=sys.stderr)
        return
    block = scale_report.render(results["runs"], results["peer"], chart_memory_limit_mib())
    document = output.read_text() if output.exists() else ""  # a new file: the tables alone
    output.write_text(scale_report.splice(document, block))
    print(block)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=100_000, help="total, half of each kind")
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument(
        "--replicas", type=replica_counts, default=[1, 2, 4], help='e.g. 1,2,4; "none": the peer only'
    )
    parser.add_argument("--kill-with", type=int, default=4, help="replica count whose run has the kill phase")
    parser.add_argument(
        "--sharding",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--sharding for runs of more than one replica",
    )
    parser.add_argument("--lease-duration", type=float, default=15.0)
    parser.add_argument(
        "--burst", action="store_true",
        help="last, every value changed with the replicas stopped, timed from their resumption (give a "
        "--lease-duration longer than the writes take, or the Leases run out while stopped)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info"),
        help="the replicas' --log-level: info, the product's default; debug costs much CPU at 100,000",
    )
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
    parser.add_argument(
        "--peer", action=argparse.BooleanOptionalAction, default=True, help="--no-peer: this part skips it"
    )
    parser.add_argument("--peer-cap", type=float, default=1800, help="seconds each peer phase may take")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--results",
        type=Path,
        default=ROOT / ".build" / "bench-scale-results.json",
        help="written after every replica count: the earlier parts' results and this one's",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        action="append",
        default=[],
        metavar="RESULTS",
        help="an earlier part's results file (repeatable): one table over all; the newest result "
        "per replica count and for the peer wins",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="no cluster: the tables of the --merge files (without: of --results) into --output",
    )
    return parser.parse_args()


def main() -> int:
    args = parse()
    try:
        earlier = [scale_parts.load(path) for path in args.merge]  # a wrong path fails now, not in hours
        if args.render_only:
            render(scale_parts.merge(earlier or [scale_parts.load(args.results)]), args.output)
            return 0
        scale_parts.check_size(scale_parts.merge(earlier), args.resources, args.namespaces)
    except (OSError, ValueError) as bad:
        raise SystemExit(f"scale_bench.py: {bad}") from None
    keep_unmerged(args.results, args.merge)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    part = scale_parts.this_part(command(args), time.time())
    mine: scale_parts.Results = {"runs": [], "peer": None}
    for replicas in args.replicas:
        with tempfile.TemporaryDirectory(prefix=f"ironflow-scale-{replicas}-") as tmp:
            run = Run(replicas, args, Path(tmp))
            with run.progress.step("whole run"):
                mine["runs"].append(scale_parts.stamped(run.measure(), part, time.time()))
        print(json.dumps(mine["runs"][-1], default=dict), file=sys.stderr, flush=True)
        save(scale_parts.merge([*earlier, mine]), args.results)
    theirs = peer(args)
    if theirs is not None:
        mine["peer"] = scale_parts.stamped(theirs, part, time.time())
    merged = scale_parts.merge([*earlier, mine])
    save(merged, args.results)
    render(merged, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
