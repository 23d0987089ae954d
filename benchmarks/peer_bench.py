"""The peer's side of `make bench`: the Sealed Secrets controller v0.40.0 through the same phases.

Built by hack/build-sealed-secrets.sh (its in-cluster config swapped for $KUBECONFIG by a build
overlay). Per N SealedSecrets in one namespace (strict scope, `type: Opaque` template, one value
each, sealed offline in Python: ss_sealing.py), on a fresh control plane: the raw write rate, a
cold start (every Secret created and every status synced), a change of every value, and a restart
over unchanged resources in a fresh process (settled when it has re-announced each resource: on
a restart it decrypts every value again and writes one Event per resource). Its client runs with
the rate limit off (`--kubeclient-qps=-1`); at its default 5 QPS it is exactly that slow.
Measured as for Ironflow (operator_bench.Phases): time, its user's writes and reads, CPU, VmHWM.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import ss_sealing
from audit_stream import AuditCounter, total
from kubernetes import client, config
from operator_bench import NS, Phases, kubectl, parallel, poll_interval, raw_write_rate, settle_writes, wait
from process_stats import cpu_seconds, vm_hwm_mib
from progress import Progress

from ironflow_testbed.controlplane import ControlPlane
from ironflow_testbed.ports import free_ports

USER = "sealed-secrets-bench-controller"
KEY_NS = "sealed-secrets"
GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"
CRD = "bitnami.com_sealedsecrets.yaml"
FLAGS = ("--kubeclient-qps=-1", "--kubeclient-burst=1000", "--key-renew-period=0")
_DROP = ("KUBERNETES_SERVICE_", "SEALED_SECRETS_", "KUBECONFIG")
_PROXIES = {
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "no_proxy",
    "NO_PROXY",
    "ALL_PROXY",
    "all_proxy",
}


def start_peer(peer_dir: Path, kubeconfig: Path, log: Path) -> subprocess.Popen[bytes]:
    """The controller on loopback only: its kubeconfig names the embedded API server, no proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP) and k not in _PROXIES}
    env.update(KUBECONFIG=str(kubeconfig), POD_NAMESPACE=KEY_NS)
    http, metrics = free_ports(2)
    argv = [
        str(peer_dir / "controller"),
        *FLAGS,
        f"--listen-addr=127.0.0.1:{http}",
        f"--listen-metrics-addr=127.0.0.1:{metrics}",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)


def synced(custom: client.CustomObjectsApi, generation: int) -> int:
    """SealedSecrets whose status is Synced at `generation` or later (one list per call)."""
    done = 0
    for item in custom.list_namespaced_custom_object(GROUP, VERSION, NS, PLURAL)["items"]:
        status = item.get("status") or {}
        current = status.get("observedGeneration") == item["metadata"]["generation"] >= generation
        if current and any(
            c.get("type") == "Synced" and c.get("status") == "True" for c in status.get("conditions") or []
        ):
            done += 1
    return done


def check_unsealed(core: client.CoreV1Api, n: int, prefix: str) -> None:
    """The controller unsealed what Python sealed: the test of ss_sealing's format against Go."""
    for i in sorted({0, n // 2, n - 1}):
        data = core.read_namespaced_secret(f"s{i}", NS).data or {}
        if base64.b64decode(data.get("V", "")) != f"{prefix}-{i}".encode():
            raise AssertionError(f"Secret s{i} does not hold the value sealed for it")


def _stopped(n: int, raw: float, cap: float, phase: str, reached: int, seconds: float, pid: int,
             phases: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run that did not finish `phase` within `cap` seconds: how far it got, and its memory so far."""
    return {
        "product": "Sealed Secrets",
        "n": n,
        "raw_rate": raw,
        "cap": cap,
        "stopped": f"peer {'cold start' if phase == 'cold' else phase}",
        "reached": {"phase": phase, "count": reached, "seconds": seconds},
        "phases": dict(phases or {}),
        "hwm": {"first": vm_hwm_mib(pid)},
    }


def run(
    n: int, workdir: Path, peer_dir: Path, timeout: float = 3600, progress: Progress | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The phases over `n` SealedSecrets; each wait gives up (TimeoutError) after `timeout` seconds.
    With `progress`, its waits are told as they go (the counts of the polls they make anyway).
    `partial`: a cold start or change not done in `timeout` ends the run with what it reached
    (`stopped`: the phase, the count Synced, the seconds, the process's peak RSS) instead of raising."""
    told = progress or Progress("Sealed Secrets", out=None)
    plane = ControlPlane(workdir / "cp", die_with_parent=True)
    plane.start()
    try:
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        kubectl(plane, "apply", "--server-side", "-f", str(peer_dir / CRD))
        kubectl(
            plane, "wait", "--timeout=300s", "--for=condition=Established", "crd/sealedsecrets.bitnami.com"
        )
        for ns in (NS, KEY_NS):
            core.create_namespace({"metadata": {"name": ns}})
        private = ss_sealing.new_key()
        core.create_namespaced_secret(KEY_NS, ss_sealing.key_secret(private))
        public = private.public_key()

        def create(i: int) -> None:
            body = ss_sealing.sealed_secret(public, NS, f"s{i}", {"V": f"one-{i}".encode()})
            custom.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, body)

        with told.step(f"raw write rate ({n:,} ConfigMaps), {n:,} SealedSecrets created"):
            raw = raw_write_rate(core, n)
            parallel(lambda i=i: create(i) for i in range(n))
        kubeconfig = plane.user_kubeconfig(workdir / "peer.kubeconfig", USER, ("system:masters",))
        audit = AuditCounter(plane.audit.path, USER)
        phases = Phases(audit)
        every = poll_interval(n)
        process = start_peer(peer_dir, kubeconfig, workdir / "peer.log")
        try:
            done = told.waiting("peer cold start", lambda: synced(custom, 1), n, "Synced")
            cold_from = time.monotonic()
            try:
                cold = wait(done, timeout, "peer cold start", every)
            except TimeoutError:
                if not partial:
                    raise
                return _stopped(n, raw, timeout, "cold", synced(custom, 1), time.monotonic() - cold_from,
                                process.pid)
            settle_writes(audit, 3 * n)
            phases.record("cold", cold, cpu_seconds(process.pid))
            check_unsealed(core, n, "one")

            def patch(i: int) -> None:
                body = ss_sealing.sealed_secret(public, NS, f"s{i}", {"V": f"two-{i}".encode()})
                custom.patch_namespaced_custom_object(
                    GROUP, VERSION, NS, PLURAL, f"s{i}", {"spec": body["spec"]}
                )

            cpu = cpu_seconds(process.pid)
            started = time.monotonic()
            parallel(lambda i=i: patch(i) for i in range(n))
            done = told.waiting("peer change", lambda: synced(custom, 2), n, "Synced")
            try:
                wait(done, timeout, "peer change", every)
            except TimeoutError:
                if not partial:
                    raise
                return _stopped(n, raw, timeout, "change", synced(custom, 2), time.monotonic() - started,
                                process.pid, phases.out)
            change = time.monotonic() - started
            settle_writes(audit, 6 * n)
            phases.record("change", change, cpu_seconds(process.pid) - cpu)
            check_unsealed(core, n, "two")
            first_hwm = vm_hwm_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=60)
        phases.record("stopped", 0.0, 0.0)
        before = total(audit.writes())
        process = start_peer(peer_dir, kubeconfig, workdir / "peer-restart.log")
        try:
            again = told.waiting("peer restart", lambda: total(audit.writes()) - before, n, "writes")
            restart = wait(again, timeout, "peer restart", every)
            phases.record("restart", restart, cpu_seconds(process.pid))
            restart_hwm = vm_hwm_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=60)
        del phases.out["stopped"]
        secrets = len(core.list_namespaced_secret(NS).items)
        return {
            "product": "Sealed Secrets",
            "n": n,
            "raw_rate": raw,
            "phases": phases.out,
            "hwm": {"first": first_hwm, "restart": restart_hwm},
            "secrets": secrets,
        }
    finally:
        plane.stop()
