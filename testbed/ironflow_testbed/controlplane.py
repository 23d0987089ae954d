"""One real control plane (etcd, kube-apiserver, kube-controller-manager) in one directory.

This is what controller-runtime's envtest does for Go, for Python tests and developers: real
binaries on loopback ports, a fresh CA and etcd every time, readiness checked rather than
slept for, and a stop that leaves no process behind.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from ironflow_testbed import components, kubeconfig, processes
from ironflow_testbed.audit import POLICY, AuditLog
from ironflow_testbed.binaries import find_bin_dir
from ironflow_testbed.components import Layout, Ports
from ironflow_testbed.pki import CertificateAuthority, service_account_keys, write_private
from ironflow_testbed.ports import free_ports
from ironflow_testbed.readiness import ComponentFailed, Prober, http_ok, wait_until
from ironflow_testbed.state import ClusterState
from ironflow_testbed.webhook_client import FILES as WEBHOOK_CLIENT_FILES
from ironflow_testbed.webhook_client import write_webhook_client_config

ADMIN_USER = "ironflow-envtest-admin"
START_ATTEMPTS = 3  # a kernel-picked free port can be taken by someone else before we bind it
_GENERATED = (
    "etcd",
    "pki",
    "state.json",
    "kubeconfig",
    "kube-controller-manager.kubeconfig",
    "audit-policy.yaml",
    "audit.log",
    "etcd.log",
    "kube-apiserver.log",
    "kube-controller-manager.log",
    "bin",
    *WEBHOOK_CLIENT_FILES,
)


class ControlPlane:
    """Start with `start()`, stop with `stop()`; `die_with_parent` ties the processes to this one."""

    def __init__(
        self,
        directory: str | Path,
        bin_dir: str | Path | None = None,
        *,
        die_with_parent: bool = True,
        timeout: float = 180.0,
    ) -> None:
        self.layout = Layout(Path(directory).resolve())
        self.bin_dir = find_bin_dir(bin_dir)
        self.die_with_parent = die_with_parent
        self.timeout = timeout
        self.ports: Ports | None = None
        self.timings: dict[str, float] = {}
        self._ca: CertificateAuthority | None = None
        self._audit = AuditLog(self.layout.audit_log)
        self._started: list[tuple[subprocess.Popen[bytes], processes.ProcessRecord]] = []

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    @property
    def server(self) -> str:
        if self.ports is None:
            raise RuntimeError("the control plane is not started")
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def audit(self) -> AuditLog:
        return self._audit

    @property
    def records(self) -> tuple[processes.ProcessRecord, ...]:
        return tuple(record for _, record in self._started)

    def start(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._start_once()
                return
            except ComponentFailed as error:
                self.stop()
                if "address already in use" not in str(error) or attempt == START_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        """Stop in reverse start order (controller manager, API server, etcd) and reap."""
        survivors = processes.stop(list(reversed(self.records)))
        for proc, _ in self._started:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._started.clear()
        self.layout.state.unlink(missing_ok=True)
        if survivors:
            raise RuntimeError(f"processes survived SIGKILL: {survivors}")

    def user_kubeconfig(self, path: Path, user: str, groups: tuple[str, ...] = ()) -> Path:
        """A kubeconfig for a certificate user (RBAC applies unless a group is system:masters)."""
        if self._ca is None:
            raise RuntimeError("the control plane is not started")
        pair = self._ca.issue_client(user, groups)
        config = kubeconfig.build(
            self.server, self._ca.keypair.cert_pem, user=user, cert_pem=pair.cert_pem, key_pem=pair.key_pem
        )
        return kubeconfig.write(path, config)

    def _clean(self) -> None:
        root = self.layout.root
        root.mkdir(parents=True, exist_ok=True)
        for name in _GENERATED:
            target = root / name
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)

    def _write_files(self, ports: Ports) -> None:
        layout = self.layout
        self._ca = ca = CertificateAuthority.create()
        ca.keypair.write(layout.pki, "ca")
        ca.issue_serving("kube-apiserver", components.APISERVER_HOSTS).write(layout.pki, "apiserver")
        ca.issue_serving("kube-controller-manager").write(layout.pki, "controller-manager")
        ca.issue_client(ADMIN_USER, ("system:masters",)).write(layout.pki, "admin")
        # the API server's identity towards kubelets (node.py binds it to system:kubelet-api-admin)
        ca.issue_client("kube-apiserver-kubelet-client").write(layout.pki, "apiserver-kubelet-client")
        sa = service_account_keys()
        (layout.pki / "sa.pub").write_bytes(sa.cert_pem)
        write_private(layout.pki / "sa.key", sa.key_pem)
        server = f"https://127.0.0.1:{ports.apiserver}"
        admin = layout.pki / "admin"
        kubeconfig.write(
            layout.kubeconfig,
            kubeconfig.build(
                server,
                ca.keypair.cert_pem,
                user=ADMIN_USER,
                cert_pem=admin.with_suffix(".crt").read_bytes(),
                key_pem=admin.with_suffix(".key").read_bytes(),
            ),
        )
        kcm = ca.issue_client("system:kube-controller-manager")
        kubeconfig.write(
            layout.controller_manager_kubeconfig,
            kubeconfig.build(
                server,
                ca.keypair.cert_pem,
                user="system:kube-controller-manager",
                cert_pem=kcm.cert_pem,
                key_pem=kcm.key_pem,
            ),
        )
        layout.audit_policy.write_text(POLICY)
        # The API server presents a client certificate to webhooks (ironflow_testbed/webhook_client.py).
        write_webhook_client_config(ca, layout)
        (layout.root / "bin").symlink_to(self.bin_dir)

    def _spawn(self, name: str, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.layout.log(name)
        proc, record = processes.spawn(name, argv, log, die_with_parent=self.die_with_parent)
        self._started.append((proc, record))
        return proc, log

    def _start_once(self) -> None:
        begin = time.monotonic()
        self._clean()
        self.ports = ports = Ports(*free_ports(4))
        self._write_files(ports)
        self.timings = {"pki": time.monotonic() - begin}
        layout, bins = self.layout, self.bin_dir
        prober = Prober(layout.cert("ca"), layout.cert("admin"), layout.key("admin"))
        api = f"https://127.0.0.1:{ports.apiserver}"

        etcd = self._spawn("etcd", components.etcd(bins, layout, ports))
        self.timings["etcd"] = wait_until(
            lambda: http_ok(f"http://127.0.0.1:{ports.etcd_client}/health"),
            self.timeout,
            "etcd /health",
            watch=[etcd],
        )
        apiserver = self._spawn("kube-apiserver", components.kube_apiserver(bins, layout, ports))
        self.timings["kube-apiserver"] = wait_until(
            lambda: prober.ok(f"{api}/readyz"),
            self.timeout,
            "kube-apiserver /readyz",
            watch=[etcd, apiserver],
        )
        kcm = self._spawn("kube-controller-manager", components.kube_controller_manager(bins, layout, ports))
        watch = [etcd, apiserver, kcm]
        self.timings["kube-controller-manager"] = wait_until(
            lambda: prober.ok(f"https://127.0.0.1:{ports.controller_manager}/healthz"),
            self.timeout,
            "kube-controller-manager /healthz",
            watch=watch,
        )
        self.timings["default-serviceaccount"] = wait_until(
            lambda: prober.ok(f"{api}/api/v1/namespaces/default/serviceaccounts/default"),
            self.timeout,
            "namespace default and its default ServiceAccount",
            watch=watch,
        )
        self.timings["total"] = time.monotonic() - begin
        ClusterState(str(bins), api, ports, self.records, self.timings).save(layout.state)

    def describe_timings(self) -> str:
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.timings.items())


def stop_recorded(directory: str | Path, timeout: float = 15.0) -> list[processes.ProcessRecord]:
    """Stop what `envtest up` started in `directory` (possibly from another process); returns survivors."""
    layout = Layout(Path(directory).resolve())
    state = ClusterState.load(layout.state)
    if state is None:
        return []
    survivors = processes.stop(list(reversed(state.processes)), timeout)
    if not survivors:
        layout.state.unlink(missing_ok=True)
    else:
        print(f"envtest: processes still alive: {survivors}", file=sys.stderr)
    return survivors
