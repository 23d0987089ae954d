"""Write-count and throughput benchmark of ironflow-operator on the embedded control plane.

Run on demand (`make bench`, or `python benchmarks/operator_bench.py --count 100 1000`); it writes
docs/benchmarks.md. Measured: the raw API write rate this machine's control plane sustains
(creating ConfigMaps from 8 client threads), the operator's objects per second on a cold start
over N existing resources, after a change of every value, and on a restart over unchanged
resources, with the API writes per reconcile counted from the audit log.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import admission_phase  # beside this script: its folder is first on sys.path
from kubernetes import client, config

from ironflow.core.crypto import derive_sealing_key, seal
from ironflow.core.keyring import generate_master_key
from ironflow.envtest.controlplane import ControlPlane
from ironflow.envtest.ports import free_ports

ROOT = Path(__file__).resolve().parent.parent
GROUP, VERSION = "ironflow.io", "v1alpha1"
PLURALS = {"IronflowSecret": "ironflowsecrets", "IronflowConfig": "ironflowconfigs"}
USER = "ironflow-bench-operator"
NS, OP_NS = "bench", "ironflow-system"
WRITES = ("create", "update", "patch", "delete")


def parallel(calls: Iterable[Callable[[], Any]], threads: int = 8) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()
    return time.monotonic() - started


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(what)
        time.sleep(0.2)
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


def writes(plane: ControlPlane) -> Counter[str]:
    found: Counter[str] = Counter()
    for event in plane.audit.events(user=USER):
        if event.verb in WRITES:
            found[f"{event.verb} {event.resource}{'/' + event.subresource if event.subresource else ''}"] += 1
    return found


def start_operator(kubeconfig: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    binary = str(Path(sys.executable).parent / "ironflow-operator")
    argv = [
        binary,
        f"--kubeconfig={kubeconfig}",
        f"--namespace={NS}",
        "--metrics-port=0",
        "--health-port=0",
        "--workers=8",
        "--no-leader-election",  # one process: its Lease renewals would blur the write counts
        "--log-level=debug",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_SERVICE_", "IRONFLOW_"))}
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def run(count: int, workdir: Path, pods: int = 200) -> dict[str, Any]:
    plane = ControlPlane(workdir / "cp", die_with_parent=True)
    plane.start()
    try:
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        subprocess.run(
            [
                str(plane.bin_dir / "kubectl"),
                f"--kubeconfig={plane.kubeconfig}",
                "apply",
                "--server-side",
                "-f",
                str(ROOT / "crds"),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                str(plane.bin_dir / "kubectl"),
                f"--kubeconfig={plane.kubeconfig}",
                "wait",
                "--for=condition=Established",
                "crd/ironflowsecrets.ironflow.io",
                "crd/ironflowconfigs.ironflow.io",
            ],
            check=True,
            capture_output=True,
        )
        for ns in (NS, OP_NS, "raw"):
            core.create_namespace({"metadata": {"name": ns}})
        key = generate_master_key()
        core.create_namespaced_secret(
            OP_NS, {"metadata": {"name": "ironflow-master-key"}, "stringData": {"IRONFLOW_MASTER_KEY": key}}
        )
        public = derive_sealing_key(bytes.fromhex(key)).public
        raw = parallel(
            lambda i=i: core.create_namespaced_config_map(
                "raw", {"metadata": {"name": f"raw-{i}"}, "data": {"V": str(i)}}
            )
            for i in range(2 * count)
        )

        def cr(kind: str, i: int, value: str) -> dict[str, Any]:
            name = f"V{i}"
            spec = (
                {"sealed": {name: seal(public, NS, name, value.encode())}}
                if kind == "IronflowSecret"
                else {"values": {name: value}}
            )
            return {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": kind,
                "metadata": {"name": f"r{i}"},
                "spec": spec,
            }

        parallel(
            lambda k=k, i=i: custom.create_namespaced_custom_object(
                GROUP, VERSION, NS, PLURALS[k], cr(k, i, f"one-{i}")
            )
            for k in PLURALS
            for i in range(count)
        )
        kubeconfig = plane.user_kubeconfig(workdir / "operator.kubeconfig", USER, ("system:masters",))
        log = workdir / "operator.log"
        process = start_operator(kubeconfig, log)
        cold = wait(lambda: all_current(custom, count, is_ready), 600, "cold start")
        wait(lambda: sum(writes(plane).values()) >= 4 * count, 60, "audit flushed")
        cold_writes = writes(plane)

        def changed(item: dict[str, Any]) -> bool:
            return is_ready(item) and item["status"]["observedGeneration"] >= 2

        def patch(kind: str, i: int) -> None:
            body = cr(kind, i, f"two-{i}")
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, NS, PLURALS[kind], f"r{i}", {"spec": body["spec"]}
            )

        started = time.monotonic()
        parallel(lambda k=k, i=i: patch(k, i) for k in PLURALS for i in range(count))
        wait(lambda: all_current(custom, count, changed), 600, "update")
        update = time.monotonic() - started
        wait(
            lambda: sum(writes(plane).values()) >= sum(cold_writes.values()) + 4 * count, 60, "audit flushed"
        )
        update_writes = writes(plane) - cold_writes
        stop(process)
        before = writes(plane)
        started = time.monotonic()
        log = workdir / "operator-restart.log"
        process = start_operator(kubeconfig, log)
        # every resource re-read and found current; nothing to write, so time the settle by the log
        restart = wait(
            lambda: log.read_text(errors="replace").count("up to date") >= 2 * count,
            600,
            "restart settle",
        )
        stop(process)
        restart_writes = writes(plane) - before
        url = f"https://127.0.0.1:{free_ports(1)[0]}"
        log = workdir / "operator-webhook.log"
        process = start_operator(
            kubeconfig, log, f"--webhook-url={url}", f"--webhook-cert-dir={workdir / 'webhook-certs'}"
        )
        try:
            # admission alone: the start-up re-check of every resource is over before pods come
            wait(lambda: log.read_text(errors="replace").count("up to date") >= 2 * count, 600, "settle")
            declared = {"ironflow.io/secrets": "V0", "ironflow.io/configs": "V1"}
            admission = admission_phase.measure(
                api, plane.audit, USER, (NS, "raw"), declared, pods, parallel, wait
            )
        finally:
            stop(process)
        return {
            "admission": admission,
            "count": count,
            "raw_rate": 2 * count / raw,
            "cold": cold,
            "cold_writes": cold_writes,
            "update": update,
            "update_writes": update_writes,
            "restart": restart,
            "restart_writes": restart_writes,
            "started": time.monotonic() - started,
        }
    finally:
        plane.stop()


def _fmt(counter: Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items())) or "none"


def _rows(r: dict[str, Any]) -> dict[str, str]:
    n, raw = 2 * r["count"], r["raw_rate"]
    cold_rate = sum(r["cold_writes"].values()) / r["cold"]
    update_rate = sum(r["update_writes"].values()) / r["update"]
    return {
        "raw API write rate (create ConfigMap, 8 client threads)": f"{raw:.0f} writes/s",
        "cold start over N new resources: all Ready": f"{r['cold']:.1f} s = {n / r['cold']:.0f} resources/s",
        "writes of the cold start": _fmt(r["cold_writes"]),
        "writes per resource (cold start)": f"{sum(r['cold_writes'].values()) / n:.2f}",
        "operator writes/s, cold start (share of raw)": f"{cold_rate:.0f} writes/s ({cold_rate / raw:.0%})",
        "every value changed: all re-projected": f"{r['update']:.1f} s = {n / r['update']:.0f} resources/s",
        "writes of the change": _fmt(r["update_writes"]),
        "writes per changed resource": f"{sum(r['update_writes'].values()) / n:.2f}",
        "operator writes/s, change (share of raw)": f"{update_rate:.0f} writes/s ({update_rate / raw:.0%})",
        "restart over N unchanged resources: all re-checked": f"{r['restart']:.1f} s",
        "writes of the restart": _fmt(r["restart_writes"]),
        **_admission_rows(r["admission"]),
    }


def _admission_rows(a: dict[str, Any]) -> dict[str, str]:
    plain, declaring, pods = a["plain_rate"], a["declaring_rate"], a["pods"]
    reads = sum(a["reads"].values())
    return {
        "pods created, declaring nothing (webhook not called)": f"{plain:.0f} pods/s",
        "pods created, declaring a secret and a config (webhook called over TLS)":
            f"{declaring:.0f} pods/s ({declaring / plain:.0%} of the plain rate)",
        "operator reads per declaring pod": f"{reads / pods:.2f} ({_fmt(a['reads'])})",
    }


def _scaling(small: dict[str, Any], large: dict[str, Any]) -> str:
    """Per-resource rates at the largest size over the smallest: 100% means linear cost."""

    def per_resource(r: dict[str, Any], phase: str) -> float:
        return float(2 * r["count"] / r[phase])

    lines = [
        f"| {label} | {per_resource(large, phase) / per_resource(small, phase):.0%} |"
        for label, phase in (
            ("cold start", "cold"),
            ("change of every value", "update"),
            ("restart check", "restart"),
        )
    ]
    admission = large["admission"]["declaring_rate"] / small["admission"]["declaring_rate"]
    lines.append(f"| declaring pods admitted | {admission:.0%} |")
    head = f"{2 * large['count']} resources against {2 * small['count']}"
    return "\n".join([f"| rate at {head} | ratio |", "| --- | --- |", *lines])


def report(results: list[dict[str, Any]]) -> str:
    sizes = [2 * r["count"] for r in results]
    table = [_rows(r) for r in results]
    lines = [
        "| measurement | " + " | ".join(f"{n} resources" for n in sizes) + " |",
        "| --- |" + " --- |" * len(sizes),
        *(f"| {label} | " + " | ".join(t[label] for t in table) + " |" for label in table[0]),
    ]
    scaling = ""
    if len(results) > 1:
        scaling = f"""
Scaling, all resources in one namespace (each rate divided by the same rate at the smallest size;
100% is linear, lower means each resource costs more as the namespace grows):

{_scaling(results[0], results[-1])}
"""
    counts = " ".join(str(r["count"]) for r in results)
    a_pods = results[0]["admission"]["pods"]
    return f"""# Operator benchmark

Generated by `make bench` (`benchmarks/operator_bench.py --count {counts}`) on {platform.node()}
({os.cpu_count()} CPUs, Python {platform.python_version()}), embedded control plane (etcd,
kube-apiserver, kube-controller-manager) started afresh for each size, operator with 8 workers,
N resources in one namespace (N/2 IronflowSecrets with one sealed value each, N/2 IronflowConfigs).
Writes are counted from the API server's audit log for the operator's user only.

{chr(10).join(lines)}
{scaling}
Per resource, a creation costs its projected object, its status and the Events announcing the
outcome (`Projected`, plus `DevMode` in dev mode); a change costs one patch of the projection and
one status patch; a restart over unchanged resources costs nothing. Writes are sequential within
one reconcile (projection, then status, then Events), so each reconcile waits for several etcd
commits; the rest is per-reconcile latency (unsealing is well under a millisecond per value, the
GET comparing desired with actual state a few milliseconds). `--workers` raises concurrency. On a
small shared machine (here: 2 CPUs, control plane, operator and client on the same host) compare
the ratios, not the absolute rates.

Admission: the operator restarted with its pod webhook (URL mode on loopback, TLS, registered
like `make run` does), then {a_pods} pods created from 8 client threads in a namespace where nothing
is declared (the API server does not call the webhook: matchConditions), and {a_pods} pods declaring
one secret and one config in the served namespace. The webhook reads the environment from the
operator's cache; each declaring pod costs one metadata GET per object its names come from.

History:
- Before rollout checks were queued per namespace and read from the resource cache, every status
  change listed every resource of its namespace (quadratic); 200 resources gave 25 resources/s
  cold, 33 resources/s on change and 5.2 s for the restart.
- Before each resource's name claims were parsed once on arrival, log redaction was indexed and
  the objects gauge counted incrementally, every reconcile re-parsed its whole namespace, every
  log line was scanned once per value held and every condition change recounted every resource;
  2000 resources gave 46 resources/s cold, 36 on change and 21.9 s for the restart.
- Before the webhook read the operator's cache, each declaring pod listed its whole namespace:
  200 resources gave 34 declaring pods/s (8% of the plain rate, 4 reads per pod). Before it also
  checked ownership only of the objects a pod draws on, it fetched the metadata of every
  projected object, and with 2000 resources pod creation failed (`failed calling webhook ...
  context deadline exceeded`).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--count", type=int, nargs="+", default=[100, 1000],
        help="resources of each kind; several sizes compare scaling",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    results = []
    for count in sorted(args.count):
        with tempfile.TemporaryDirectory(prefix="ironflow-bench-") as tmp:
            results.append(run(count, Path(tmp)))
    text = report(results)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
