"""Ironflow's side of `make bench`: its phases on the embedded control plane, measured.

Driven by benchmarks/bench.py (which also runs the peer, peer_bench.py, and writes
docs/benchmarks.md). Per N resources (half IronflowSecrets with one sealed value, half
IronflowConfigs, one namespace), on a fresh control plane: the raw API write rate (creating
ConfigMaps from 8 client threads), a cold start over N existing resources, a change of every
value, then a restart over unchanged resources in a fresh process with the pod webhook running,
followed by the admission phase in that same process. Per phase: time, the operator user's
writes and reads from the audit log (streamed: audit_stream.py), CPU seconds; per process:
peak RSS (VmHWM).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import admission_phase  # beside this script: its folder is first on sys.path
from audit_stream import AuditCounter, TailAudit, total
from kubernetes import client, config
from operator_process import start_operator, stop, webhook_args
from process_stats import cpu_seconds, vm_hwm_mib

from ironflow.core.crypto import derive_sealing_key, seal
from ironflow.core.keyring import generate_master_key
from ironflow_testbed.controlplane import ControlPlane
from ironflow_testbed.ports import free_ports

ROOT = Path(__file__).resolve().parent.parent
GROUP, VERSION = "ironflow.io", "v1alpha1"
PLURALS = {"IronflowSecret": "ironflowsecrets", "IronflowConfig": "ironflowconfigs"}
USER = "ironflow-bench-operator"
NS, OP_NS = "bench", "ironflow-system"
WEBHOOK_SETUP = "mutatingwebhookconfigurations"  # written once per start with --webhook-url


def parallel(calls: Iterable[Callable[[], Any]], threads: int = 8) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()
    return time.monotonic() - started


def wait(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(what)
        time.sleep(interval)
    return time.monotonic() - started


def all_current(custom: client.CustomObjectsApi, count: int, check: Callable[[dict[str, Any]], bool]) -> bool:
    done = 0
    for plural in PLURALS.values():
        for item in custom.list_namespaced_custom_object(GROUP, VERSION, NS, plural)["items"]:
            status = item.get("status") or {}
            if status.get("observedGeneration") == item["metadata"]["generation"] and check(item):
                done += 1
    return done >= 2 * count


def is_ready(item: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in item.get("status", {}).get("conditions") or []
    )


def poll_interval(count: int) -> float:
    """Listing thousands of objects costs the shared CPU too: poll large runs less often."""
    return max(0.2, count / 5000)


def raw_write_rate(core: client.CoreV1Api, count: int) -> float:
    """ConfigMaps created per second from 8 client threads: this run's ceiling for writes."""
    core.create_namespace({"metadata": {"name": "raw"}})
    seconds = parallel(
        lambda i=i: core.create_namespaced_config_map(
            "raw", {"metadata": {"name": f"raw-{i}"}, "data": {"V": str(i)}}
        )
        for i in range(count)
    )
    return count / seconds


def kubectl(plane: ControlPlane, *args: str) -> None:
    done = subprocess.run(
        [str(plane.bin_dir / "kubectl"), f"--kubeconfig={plane.kubeconfig}", *args],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")


def prepare(plane: ControlPlane) -> tuple[client.ApiClient, bytes]:
    """CRDs established, the benchmark and operator namespaces, a master key: (admin client, the
    sealing public key values are sealed for)."""
    api = config.new_client_from_config(config_file=str(plane.kubeconfig))
    core = client.CoreV1Api(api)
    kubectl(plane, "apply", "--server-side", "-f", str(ROOT / "crds"))
    kubectl(
        plane,
        "wait",
        "--timeout=300s",
        "--for=condition=Established",
        "crd/ironflowsecrets.ironflow.io",
        "crd/ironflowconfigs.ironflow.io",
    )
    for ns in (NS, OP_NS):
        core.create_namespace({"metadata": {"name": ns}})
    key = generate_master_key()
    core.create_namespaced_secret(
        OP_NS, {"metadata": {"name": "ironflow-master-key"}, "stringData": {"IRONFLOW_MASTER_KEY": key}}
    )
    return api, derive_sealing_key(bytes.fromhex(key)).public


def resource(public: bytes, kind: str, i: int, value: str, namespace: str = NS) -> dict[str, Any]:
    """Resource r{i} of `kind` with one name, V{i}: sealed for `namespace` (a secret) or plain (a config)."""
    name = f"V{i}"
    spec = (
        {"sealed": {name: seal(public, namespace, name, value.encode())}}
        if kind == "IronflowSecret"
        else {"values": {name: value}}
    )
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": f"r{i}"}, "spec": spec}


def create_resources(
    custom: client.CustomObjectsApi, public: bytes, count: int, value: Callable[[int], str]
) -> None:
    """`count` resources of each kind, created from 8 client threads."""
    parallel(
        lambda k=k, i=i: custom.create_namespaced_custom_object(
            GROUP, VERSION, NS, PLURALS[k], resource(public, k, i, value(i))
        )
        for k in PLURALS
        for i in range(count)
    )


def settle_writes(audit: AuditCounter, at_least: int) -> None:
    """Wait for the writes a phase is known to make (Events are posted after the status) to reach
    the audit log; if fewer come, go on after a minute: the tables show what was counted."""
    with contextlib.suppress(TimeoutError):
        wait(lambda: total(audit.writes()) >= at_least, 60, "audit flushed")


class Phases:
    """Per phase: seconds, the user's writes and reads, the process's CPU seconds."""

    def __init__(self, audit: AuditCounter) -> None:
        self.audit = audit
        self.out: dict[str, dict[str, Any]] = {}
        self._counts: Counter[str] = audit.refresh()

    def record(self, phase: str, seconds: float, cpu: float) -> None:
        now = self.audit.refresh()
        delta = now - self._counts
        self._counts = now
        self.out[phase] = {
            "seconds": seconds,
            "writes": Counter(
                {k: v for k, v in delta.items() if k.split()[0] in ("create", "update", "patch", "delete")}
            ),
            "reads": Counter({k: v for k, v in delta.items() if k.split()[0] in ("get", "list")}),
            "cpu": cpu,
        }


def run(n: int, workdir: Path, pods: int = 200, source: Path | None = None) -> dict[str, Any]:
    """Ironflow's phases over `n` resources (n/2 of each kind) on a fresh control plane.

    `source`: the operator package's folder of another revision (compare.py); default the installed one.
    """
    count = n // 2
    plane = ControlPlane(workdir / "cp", die_with_parent=True)
    plane.start()
    try:
        api, public = prepare(plane)
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        raw = raw_write_rate(core, n)
        create_resources(custom, public, count, lambda i: f"one-{i}")
        kubeconfig = plane.user_kubeconfig(workdir / "operator.kubeconfig", USER, ("system:masters",))
        audit = AuditCounter(plane.audit.path, USER)
        phases = Phases(audit)
        every = poll_interval(n)
        process = start_operator(kubeconfig, workdir / "operator.log", source=source)
        try:
            cold = wait(lambda: all_current(custom, count, is_ready), 1800, "cold start", every)
            settle_writes(audit, 3 * n)
            phases.record("cold", cold, cpu_seconds(process.pid))

            def changed(item: dict[str, Any]) -> bool:
                return is_ready(item) and item["status"]["observedGeneration"] >= 2

            def patch(kind: str, i: int) -> None:
                body = resource(public, kind, i, f"two-{i}")
                custom.patch_namespaced_custom_object(
                    GROUP, VERSION, NS, PLURALS[kind], f"r{i}", {"spec": body["spec"]}
                )

            cpu = cpu_seconds(process.pid)
            started = time.monotonic()
            parallel(lambda k=k, i=i: patch(k, i) for k in PLURALS for i in range(count))
            wait(lambda: all_current(custom, count, changed), 1800, "change", every)
            update = time.monotonic() - started
            settle_writes(audit, 5 * n)
            phases.record("change", update, cpu_seconds(process.pid) - cpu)
            first_hwm = vm_hwm_mib(process.pid)
        finally:
            stop(process)
        phases.record("stopped", 0.0, 0.0)
        url = f"https://127.0.0.1:{free_ports(1)[0]}"
        log = workdir / "operator-restart.log"
        started = time.monotonic()
        process = start_operator(
            kubeconfig, log, *webhook_args(url, workdir / "webhook-certs"), source=source
        )
        try:
            # every resource re-checked and found current: nothing to write, so time it by the log
            restart = wait(
                lambda: log.read_text(errors="replace").count("up to date") >= n, 1800, "restart", every
            )
            phases.record("restart", restart, cpu_seconds(process.pid))
            admitted = admission(api, plane, pods)
            restart_hwm = vm_hwm_mib(process.pid)
        finally:
            stop(process)
        del phases.out["stopped"]
        return {
            "product": "Ironflow",
            "n": n,
            "raw_rate": raw,
            "phases": phases.out,
            "hwm": {"first": first_hwm, "restart": restart_hwm},
            "admission": admitted,
        }
    finally:
        plane.stop()


def admission(api: client.ApiClient, plane: ControlPlane, pods: int) -> dict[str, Any]:
    """admission_phase.measure, with the declaring pods' webhook p50/p99 from the API server's histogram."""
    declared = {"ironflow.io/secrets": "V0", "ironflow.io/configs": "V1"}
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "plain"}})
    result = admission_phase.measure(
        api, TailAudit(plane.audit.path), USER, (NS, "plain"), declared, pods, parallel, wait
    )
    latency = result["webhook"]
    result["p99"] = None if latency["count"] == 0 else latency["p99"]
    result["p50"] = None if latency["count"] == 0 else latency["p50"]
    result["calls"] = int(latency["count"])
    return result
