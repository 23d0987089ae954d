"""Memory per resource of ironflow-operator, by holder, on the embedded control plane.

Run on demand: `python benchmarks/memory_bench.py --count 1000 2000` (total resources, half
IronflowSecrets, half IronflowConfigs, one value each, in one namespace). For each N: a cold
start over N existing resources, then a restart with the pod webhook running (one declaring pod
admitted, so its derived view of the namespace exists). At each settle the operator (run through
benchmarks/traced_operator.py) writes a census: the deep size of each holder of per-resource
state, and VmRSS / VmHWM of the process. Prints one JSON line per phase; docs/benchmarks.md
quotes the figures.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import admission_phase  # beside this script
from kubernetes import client
from operator_bench import NS, USER, all_current, create_resources, is_ready, prepare, wait
from operator_process import start_operator, stop, webhook_args

from ironflow_testbed.controlplane import ControlPlane
from ironflow_testbed.ports import free_ports

TRACE: list[str] = []  # ["-X", "tracemalloc=1"] with --tracemalloc: it doubles RSS, so off for VmHWM


def _operator(kubeconfig: Path, log: Path, census: Path, *extra: str) -> subprocess.Popen[bytes]:
    return start_operator(kubeconfig, log, *extra, census=census, python_args=tuple(TRACE))


def _census(process: subprocess.Popen[bytes], path: Path) -> dict[str, Any]:
    path.unlink(missing_ok=True)
    process.send_signal(signal.SIGUSR1)
    wait(lambda: path.exists() and path.stat().st_size > 0, 300, "census")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def _settled(log: Path, count: int) -> bool:
    return log.read_text(errors="replace").count("up to date") >= count


def run(count: int, workdir: Path) -> list[dict[str, Any]]:
    plane = ControlPlane(workdir / "cp", die_with_parent=True)
    plane.start()
    try:
        api, public = prepare(plane)
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        half = count // 2
        create_resources(custom, public, half, lambda i: f"value-{i}-{'x' * 24}")
        kubeconfig = plane.user_kubeconfig(workdir / "operator.kubeconfig", USER, ("system:masters",))
        census = workdir / "census.json"
        out: list[dict[str, Any]] = []

        process = _operator(kubeconfig, workdir / "cold.log", census)
        try:
            seconds = wait(lambda: all_current(custom, half, is_ready), 1200, "cold start")
            out.append(
                {"count": count, "phase": "cold", "seconds": round(seconds, 1), **_census(process, census)}
            )
        finally:
            stop(process)

        url = f"https://127.0.0.1:{free_ports(1)[0]}"
        log = workdir / "restart.log"
        process = _operator(
            kubeconfig, log, census, *webhook_args(url, workdir / "webhook-certs")
        )
        try:
            seconds = wait(lambda: _settled(log, 2 * half), 1200, "restart settle")
            wait(lambda: admission_phase._has_default_account(core, NS), 60, "default ServiceAccount")
            declared = {"ironflow.io/secrets": "V0", "ironflow.io/configs": "V1"}

            def admitted() -> bool:
                try:
                    pod = core.create_namespaced_pod(
                        NS, admission_phase.pod("probe", declared), dry_run="All"
                    )
                except client.ApiException:
                    return False
                return "ironflow.io/injected" in (pod.metadata.annotations or {})

            wait(admitted, 120, "a declaring pod admitted through the webhook")
            out.append(
                {
                    "count": count,
                    "phase": "restart+webhook",
                    "seconds": round(seconds, 1),
                    **_census(process, census),
                }
            )
        finally:
            stop(process)
        return out
    finally:
        plane.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, nargs="+", default=[1000, 2000], help="total resources per run")
    parser.add_argument("--tracemalloc", action="store_true", help="also report tracemalloc's total")
    args = parser.parse_args()
    if args.tracemalloc:
        TRACE.extend(["-X", "tracemalloc=1"])
    for count in args.count:
        with tempfile.TemporaryDirectory(prefix="ironflow-mem-") as tmp:
            for row in run(count, Path(tmp)):
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
