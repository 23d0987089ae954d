"""The pod webhook's latency at N resources, with the namespace quiet and while its resources
change, and what the operator's cache holds per resource: the admission index against the bodies.

Run on demand, never in CI: `python benchmarks/admission_change.py --count 2000 [--before REV]`.
One fresh control plane per operator revision: N resources (half of each kind, one value each)
made Ready by the operator started with its pod webhook (URL mode on loopback, as `make run`), a
census of its holders (benchmarks/traced_operator.py), then admission_phase.measure twice: once
with nothing changing, once while one client thread changes value after value (each change is a
spec patch, then the operator's status write: two changes of the namespace the webhook reads).
In-process, over the same bodies as listed: one full view rebuild (what the webhook did per
change) against one change applied to the index plus the copy a new revision costs.
Prints one JSON line per revision.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import admission_phase  # beside this script
import compare
from audit_stream import TailAudit
from kubernetes import client
from memory_bench import _census
from operator_bench import (
    GROUP,
    NS,
    PLURALS,
    USER,
    VERSION,
    all_current,
    create_resources,
    is_ready,
    parallel,
    poll_interval,
    prepare,
    resource,
    wait,
)
from operator_process import start_operator, stop, webhook_args
from traced_operator import deep_size

from ironflow.core.admission_index import NamespaceIndex, summarise
from ironflow.core.environment_view import build_view
from ironflow.k8s.admission import stripped
from ironflow_testbed.controlplane import ControlPlane
from ironflow_testbed.ports import free_ports

DECLARED = {"ironflow.io/secrets": "V0", "ironflow.io/configs": "V1"}
PLAIN = "plain"


def _admission(api: client.ApiClient, plane: ControlPlane, pods: int) -> dict[str, Any]:
    core = client.CoreV1Api(api)
    for namespace in (NS, PLAIN):  # a second measurement creates pods of the same names again
        core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
        wait(lambda ns=namespace: not core.list_namespaced_pod(ns).items, 120, f"pods of {namespace} gone")
    result = admission_phase.measure(api, TailAudit(plane.audit.path), USER, (NS, PLAIN), DECLARED, pods,
                                     parallel, wait)
    latency = result.pop("webhook")
    reads = result.pop("reads")
    return {**result, "reads": sum(reads.values()), "calls": latency["count"],
            "p50_ms": latency["p50"] * 1000, "p99_ms": latency["p99"] * 1000}


class Changer(threading.Thread):
    """Changes one value after another, round robin over both kinds, until stopped."""

    def __init__(self, custom: client.CustomObjectsApi, public: bytes, count: int) -> None:
        super().__init__(daemon=True)
        self.custom, self.public, self.count = custom, public, count
        self.stopping, self.changes = threading.Event(), 0

    def run(self) -> None:
        while not self.stopping.is_set():
            i, kind = (self.changes // 2) % self.count, list(PLURALS)[self.changes % 2]
            body = resource(self.public, kind, i, f"changed-{self.changes}")
            self.custom.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURALS[kind], f"r{i}",
                                                       {"spec": body["spec"]})
            self.changes += 1


def _in_process(custom: client.CustomObjectsApi) -> dict[str, Any]:
    listed = {kind: custom.list_namespaced_custom_object(GROUP, VERSION, NS, plural)["items"]
              for kind, plural in (("secret", "ironflowsecrets"), ("config", "ironflowconfigs"))}
    rebuilds = []
    for _ in range(20):
        started = time.perf_counter()
        build_view(NS, stripped(listed["secret"], "sealed"), stripped(listed["config"], "values"))
        rebuilds.append(time.perf_counter() - started)
    index = NamespaceIndex(NS)
    for kind, items in listed.items():
        for item in items:
            index.put(kind, summarise(kind, item))  # type: ignore[arg-type]
    held = deep_size(index, set())
    index.view()
    resolved = deep_size(index, set()) - held
    changes = []
    for n, item in enumerate(listed["secret"][:200]):
        changed = {**item, "status": {**item["status"], "names": {
            name: {**fact, "version": f"changed-{n}"} for name, fact in item["status"]["names"].items()}}}
        started = time.perf_counter()
        index.put("secret", summarise("secret", changed))
        index.view()
        changes.append(time.perf_counter() - started)
    n = sum(len(items) for items in listed.values())
    return {"summaries_bytes": round(held / n), "resolution_bytes": round(resolved / n),
            "rebuild_ms": statistics.median(rebuilds) * 1000,
            "change_and_copy_ms": statistics.median(changes) * 1000}


def run(n: int, workdir: Path, pods: int, source: Path | None) -> dict[str, Any]:
    plane = ControlPlane(workdir / "cp", die_with_parent=True)
    plane.start()
    try:
        api, public = prepare(plane)
        custom = client.CustomObjectsApi(api)
        client.CoreV1Api(api).create_namespace({"metadata": {"name": PLAIN}})
        count = n // 2
        create_resources(custom, public, count, lambda i: f"one-{i}")
        kubeconfig = plane.user_kubeconfig(workdir / "operator.kubeconfig", USER, ("system:masters",))
        url = f"https://127.0.0.1:{free_ports(1)[0]}"
        census = workdir / "census.json"
        process = start_operator(kubeconfig, workdir / "operator.log", *webhook_args(url, workdir / "certs"),
                                 census=census, source=source)
        try:
            cold = wait(lambda: all_current(custom, count, is_ready), 1800, "cold start", poll_interval(n))
            quiet = _admission(api, plane, pods)
            held = _census(process, census)
            changer = Changer(custom, public, count)
            changer.start()
            try:
                wait(lambda: changer.changes >= 50, 120, "changes under way")
                before = changer.changes
                started = time.monotonic()
                changing = _admission(api, plane, pods)
                changing["changes_per_s"] = (changer.changes - before) / (time.monotonic() - started)
            finally:
                changer.stopping.set()
                changer.join(60)
        finally:
            stop(process)
        per = {name: round(size / n) for name, size in held["first"].items()}
        return {"n": n, "cold_s": round(cold, 1), "quiet": quiet, "changing": changing,
                "bytes_per_resource": per, "proc": held["proc"], "in_process": _in_process(custom)}
    finally:
        plane.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="total resources")
    parser.add_argument("--pods", type=int, default=200, help="declaring pods per measurement")
    parser.add_argument("--before", help="also run the operator of this revision first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ironflow-admission-") as tmp:
        trees: list[tuple[str, Path | None]] = []
        if args.before:
            source, commit = compare.export(args.before, Path(tmp))
            trees.append((commit[:10], source))
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        trees.append((head, None))
        for label, tree in trees:
            with tempfile.TemporaryDirectory(prefix="run-", dir=tmp) as work:
                result = run(args.count, Path(work), args.pods, tree)
            print(json.dumps({"revision": label, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
