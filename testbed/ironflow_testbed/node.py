"""A real node for the embedded control plane: containerd + runc + CNI, a kubelet, kube-scheduler.

Pods then really run: the kubelet resolves the secretKeyRefs and volumes the webhook wrote, and a
test reads what the container's process printed (`kubectl logs`, API server -> kubelet). It is
hardened as a real node is: the kubelet authenticates with a `system:node:` certificate (the
Node authorizer limits it to its pods' objects), keeps webhook authn/authz for its own API, and
the API server calls it with its own client certificate. Teardown order and the machine traps
behind each setting: docs/node.md.

More nodes join the first (`index` 1, 2...): each has its own containerd, kubelet, directory,
address on loopback and block of pod addresses on the first node's bridge; the first node owns
what they share (the bridge, the pod network's rules, the scheduler, the machine record).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ironflow_testbed import kubeconfig, nodeconfig, nodeimages, nodenet, noderuntime, processes
from ironflow_testbed.binaries import NODE_REQUIRED, missing
from ironflow_testbed.components import Layout
from ironflow_testbed.nodecleanup import clean_leftovers, clean_node, extra_layouts, lose_node
from ironflow_testbed.nodeconfig import KubeletFiles, NodeLayout, node_dir
from ironflow_testbed.nodehost import MachineRecord, absent_outside_dirs, create_cgroup_root, read_sysctls
from ironflow_testbed.nodehost import unavailable_reason as machine_reason
from ironflow_testbed.noderuntime import Runtime
from ironflow_testbed.pki import CertificateAuthority
from ironflow_testbed.ports import free_ports
from ironflow_testbed.readiness import Prober, http_ok, wait_until

KUBELET_CLIENT = "kube-apiserver-kubelet-client"  # the API server's identity towards kubelets


class NodeUnavailable(RuntimeError):
    """This machine cannot run a node; the message says why in one line."""


@dataclass(frozen=True)
class NodeState:
    """What `down` (possibly another process) needs to stop this node."""

    processes: tuple[processes.ProcessRecord, ...]
    timings: dict[str, float]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> NodeState | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        records = tuple(processes.ProcessRecord(**r) for r in data["processes"])
        return cls(records, {str(k): float(v) for k, v in data.get("timings", {}).items()})


def unavailable_reason(bin_dir: Path, runtime: Runtime | None = None) -> str | None:
    """Why no node can start here (one line), or None; `runtime` defaults to `noderuntime.select()`."""
    reason = machine_reason()
    if reason is None:
        try:
            reason = (runtime or noderuntime.select()).unavailable_reason()
        except ValueError as error:
            reason = str(error)
    if reason is None and missing(bin_dir, NODE_REQUIRED):
        reason = f"{', '.join(missing(bin_dir, NODE_REQUIRED))} not in {bin_dir}: run make control-plane"
    return reason


def admin_kubectl(bin_dir: Path, cluster: Layout) -> list[str]:
    """kubectl as the cluster's admin; its discovery cache stays in the cluster dir, not in ~/.kube."""
    return [
        str(bin_dir / "kubectl"),
        f"--kubeconfig={cluster.kubeconfig}",
        f"--cache-dir={cluster.root / 'kubectl-cache'}",
    ]


class Node:
    """`start()` after the control plane is ready; `stop()` before it stops."""

    def __init__(
        self,
        cluster_dir: Path,
        bin_dir: Path,
        server: str,
        *,
        die_with_parent: bool,
        timeout: float = 180.0,
        runtime: Runtime | None = None,
        index: int = 0,
    ) -> None:
        self.cluster = Layout(cluster_dir.resolve())
        self.layout = NodeLayout(node_dir(self.cluster.root, index), index)
        self.bin_dir, self.server = bin_dir, server
        self.die_with_parent, self.timeout = die_with_parent, timeout
        self.runtime = runtime or noderuntime.select()  # ValueError: a bad IRONFLOW_CONTAINERD
        self.timings: dict[str, float] = {}
        self._started: list[tuple[subprocess.Popen[bytes], processes.ProcessRecord]] = []

    def start(self) -> None:
        reason = unavailable_reason(self.bin_dir, self.runtime)
        if reason is not None:
            raise NodeUnavailable(f"no node on this machine: {reason}")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> list[str]:
        """Tear everything down (pods, then the node's processes and host state); returns problems."""
        problems = clean_node(self.layout, self.bin_dir, self._admin_kubectl())
        for proc, _ in self._started:
            proc.wait()
        self._started.clear()
        return problems

    def lose(self) -> None:
        """Kill this node's kubelet, containerd and containers as a lost machine would lose them;
        the Node object stays (NotReady, then tainted). `stop()` still cleans up afterwards."""
        lose_node(self.layout)
        for proc, _ in self._started:
            proc.poll()

    @property
    def name(self) -> str:
        return self.layout.name

    @property
    def records(self) -> tuple[processes.ProcessRecord, ...]:
        return tuple(record for _, record in self._started)

    def describe_timings(self) -> str:
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.timings.items())

    def _admin_kubectl(self) -> list[str]:
        return admin_kubectl(self.bin_dir, self.cluster)

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.layout.log(name)
        proc, record = processes.spawn(name, argv, log, die_with_parent=self.die_with_parent, env=env)
        self._started.append((proc, record))
        NodeState(tuple(r for _, r in self._started), self.timings).save(self.layout.state)
        return proc, log

    def _certificates(self) -> KubeletFiles:
        pki, layout = self.cluster.pki, self.layout
        ca = CertificateAuthority.load(
            self.cluster.cert("ca").read_bytes(), self.cluster.key("ca").read_bytes()
        )
        stem = "kubelet" if layout.index == 0 else f"kubelet{layout.index + 1}"
        ca.issue_serving("kubelet", (layout.name, "localhost")).write(pki, stem)
        identities: list[tuple[str, str, tuple[str, ...]]] = [
            ("kubelet", f"system:node:{layout.name}", ("system:nodes",))
        ]
        if layout.index == 0:  # one scheduler for the cluster, with the first node
            ca.issue_serving("kube-scheduler").write(pki, "scheduler")
            identities.append(("kube-scheduler", "system:kube-scheduler", ()))
        for component, user, groups in identities:
            pair = ca.issue_client(user, groups)
            config = kubeconfig.build(
                self.server, ca.keypair.cert_pem, user=user, cert_pem=pair.cert_pem, key_pem=pair.key_pem
            )
            kubeconfig.write(layout.kubeconfig(component), config)
        kubelet_port, healthz_port, self._scheduler_port = free_ports(3)
        return KubeletFiles(
            self.cluster.cert("ca"), pki / f"{stem}.crt", pki / f"{stem}.key", kubelet_port, healthz_port
        )

    def _start(self) -> None:
        begin = time.monotonic()
        for proc, _ in self._started:  # a restart after a crash: reap what died
            proc.poll()
        self._started.clear()
        self.timings = {}
        first = self.layout.index == 0
        if first:
            clean_leftovers(self.bin_dir)
            MachineRecord(str(self.layout.root), read_sysctls(), absent_outside_dirs()).save()
        else:
            self._join_record()
        shutil.rmtree(self.layout.root, ignore_errors=True)
        files = self._certificates()
        nodeconfig.write_configs(self.layout, files, noderuntime.containerd_toml(self.layout, self.runtime))
        self.runtime.save(self.layout)
        archives = [w.path for w in nodeimages.write_images(self.layout.images)]
        self.timings["files"] = time.monotonic() - begin  # leftovers, certificates, configs, images
        containerd = self._spawn(
            "containerd",
            [self.runtime.tool("containerd"), "--config", str(self.layout.containerd_config)],
            self.runtime.env(),
        )
        version = [self.runtime.tool("ctr"), "--address", str(self.layout.socket), "version"]
        self.timings["containerd"] = wait_until(
            lambda: subprocess.run(version, capture_output=True).returncode == 0,
            self.timeout,
            "containerd",
            watch=[containerd],
        )
        imported = time.monotonic()
        nodeimages.import_images(self.layout.socket, archives, ctr=self.runtime.tool("ctr"))
        self.timings["image-import"] = time.monotonic() - imported
        create_cgroup_root(self.layout.cgroup_root)
        if first:
            network = time.monotonic()
            port = urlsplit(self.server).port
            if port is None:
                raise NodeUnavailable(f"the API server URL {self.server} names no port")
            nodenet.set_up(port)  # before any pod: the bridge, its address, the Service DNAT
            self.timings["network"] = time.monotonic() - network
        kubectl = self._admin_kubectl()
        subprocess.run(
            [
                *kubectl,
                "create",
                "clusterrolebinding",
                "ironflow-envtest:kubelet-api-admin",
                "--clusterrole=system:kubelet-api-admin",
                f"--user={KUBELET_CLIENT}",
            ],
            capture_output=True,
            check=False,  # AlreadyExists on a restarted node is fine; a real failure shows in `logs`
        )
        kubelet = self._spawn("kubelet", self._kubelet_argv())
        watch = [containerd, kubelet]
        if first:
            watch.append(self._spawn("kube-scheduler", self._scheduler_argv()))
        prober = Prober(self.cluster.cert("ca"), self.cluster.cert("admin"), self.cluster.key("admin"))
        self.timings["kubelet"] = wait_until(
            lambda: http_ok(f"http://127.0.0.1:{files.healthz_port}/healthz"),
            self.timeout,
            "kubelet /healthz",
            watch=watch,
        )
        name = self.layout.name
        self.timings["node-ready"] = wait_until(
            lambda: _node_ready(prober, self.server, name), self.timeout, f"Node {name} Ready", watch=watch
        )
        if first:
            self.timings["kube-scheduler"] = wait_until(
                lambda: prober.ok(f"https://127.0.0.1:{self._scheduler_port}/healthz"),
                self.timeout,
                "kube-scheduler /healthz",
                watch=watch,
            )
        self.timings["total"] = time.monotonic() - begin
        NodeState(tuple(r for _, r in self._started), self.timings).save(self.layout.state)

    def _join_record(self) -> None:
        """Another node joins the running first node's machine record (refused without one), so
        clean-up, also after a SIGKILL, finds it; a leftover of the same directory goes first."""
        record = MachineRecord.load()
        first = node_dir(self.cluster.root, 0)
        if record is None or Path(record.node_dir) != first:
            raise NodeUnavailable(f"node {self.layout.index + 1} needs the first node ({first}) running")
        if any(extra.root == self.layout.root for extra in extra_layouts(record)):
            clean_node(self.layout, self.bin_dir, self._admin_kubectl())
            record = MachineRecord.load() or record
        record.extra_nodes.append({"dir": str(self.layout.root), "index": self.layout.index})
        record.save()

    def _kubelet_argv(self) -> list[str]:
        return [
            str(self.bin_dir / "kubelet"),
            f"--config={self.layout.kubelet_config}",
            f"--kubeconfig={self.layout.kubeconfig('kubelet')}",
            f"--root-dir={self.layout.kubelet_root}",
            f"--hostname-override={self.layout.name}",
            "--v=1",
        ]

    def _scheduler_argv(self) -> list[str]:
        config = self.layout.kubeconfig("kube-scheduler")
        return [
            str(self.bin_dir / "kube-scheduler"),
            f"--kubeconfig={config}",
            f"--authentication-kubeconfig={config}",
            f"--authorization-kubeconfig={config}",
            "--authentication-skip-lookup=true",
            "--bind-address=127.0.0.1",
            f"--secure-port={self._scheduler_port}",
            f"--tls-cert-file={self.cluster.cert('scheduler')}",
            f"--tls-private-key-file={self.cluster.key('scheduler')}",
            f"--client-ca-file={self.cluster.cert('ca')}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ]


def _node_ready(prober: Prober, server: str, name: str) -> bool:
    try:
        node = prober.get_json(f"{server}/api/v1/nodes/{name}")
    except OSError:
        return False
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
