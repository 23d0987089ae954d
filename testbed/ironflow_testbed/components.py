"""Command lines of etcd, kube-apiserver and kube-controller-manager, the way envtest runs them.

Everything binds to 127.0.0.1 only. RBAC is enforced (Node,RBAC); only the admin client
certificate is in system:masters. The controller manager runs every default controller with
per-controller service-account credentials, so garbage collection, namespace deletion and
workload controllers behave as in a real cluster (pods run only when a node is started: node.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SERVICE_CIDR = "10.0.0.0/24"
SERVICE_IP = "10.0.0.1"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
APISERVER_HOSTS = (
    "127.0.0.1",
    "localhost",
    SERVICE_IP,
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int


@dataclass(frozen=True)
class Layout:
    """File locations inside one cluster directory."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    def cert(self, stem: str) -> Path:
        return self.pki / f"{stem}.crt"

    def key(self, stem: str) -> Path:
        return self.pki / f"{stem}.key"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def controller_manager_kubeconfig(self) -> Path:
        return self.root / "kube-controller-manager.kubeconfig"

    @property
    def audit_policy(self) -> Path:
        return self.root / "audit-policy.yaml"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    def log(self, component: str) -> Path:
        return self.root / f"{component}.log"


def etcd(bin_dir: Path, layout: Layout, ports: Ports) -> list[str]:
    client = f"http://127.0.0.1:{ports.etcd_client}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        str(bin_dir / "etcd"),
        "--name=envtest",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=envtest={peer}",
        "--initial-cluster-state=new",
        "--unsafe-no-fsync=true",  # throwaway data: durability only costs start-up and test time
        "--log-level=warn",
    ]


def kube_apiserver(bin_dir: Path, layout: Layout, ports: Ports) -> list[str]:
    return [
        str(bin_dir / "kube-apiserver"),
        "--advertise-address=127.0.0.1",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        f"--cert-dir={layout.pki}",
        f"--tls-cert-file={layout.cert('apiserver')}",
        f"--tls-private-key-file={layout.key('apiserver')}",
        f"--client-ca-file={layout.cert('ca')}",
        f"--service-account-issuer={SA_ISSUER}",
        f"--service-account-key-file={layout.pki / 'sa.pub'}",
        f"--service-account-signing-key-file={layout.pki / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",  # endpoints may not be loopback; nothing here needs them
        "--profiling=false",
        f"--admission-control-config-file={layout.root / 'admission-config.yaml'}",  # webhook_client.py
        f"--audit-policy-file={layout.audit_policy}",
        f"--audit-log-path={layout.audit_log}",
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
        "--audit-log-maxsize=0",
        "--audit-log-maxbackup=0",
        "--v=1",
        *node_access(layout),
    ]


def node_access(layout: Layout) -> list[str]:
    """How the API server reaches a node's kubelet (logs, exec) and Services: harmless without one.

    Its own client certificate (bound to system:kubelet-api-admin when a node starts), the
    kubelet's serving certificate checked against the envtest CA, and Services resolved to their
    endpoints, never by a DNS name through the machine's resolver (that could leave the machine).
    """
    return [
        f"--kubelet-client-certificate={layout.cert('apiserver-kubelet-client')}",
        f"--kubelet-client-key={layout.key('apiserver-kubelet-client')}",
        f"--kubelet-certificate-authority={layout.cert('ca')}",
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        "--enable-aggregator-routing=true",
    ]


def kube_controller_manager(bin_dir: Path, layout: Layout, ports: Ports) -> list[str]:
    kubeconfig = layout.controller_manager_kubeconfig
    return [
        str(bin_dir / "kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--authentication-skip-lookup=true",  # no front proxy here; client CA is given below
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.controller_manager}",
        f"--tls-cert-file={layout.cert('controller-manager')}",
        f"--tls-private-key-file={layout.key('controller-manager')}",
        f"--client-ca-file={layout.cert('ca')}",
        f"--service-account-private-key-file={layout.pki / 'sa.key'}",
        f"--root-ca-file={layout.cert('ca')}",
        f"--cluster-signing-cert-file={layout.cert('ca')}",
        f"--cluster-signing-key-file={layout.key('ca')}",
        "--use-service-account-credentials=true",
        "--controllers=*",
        "--leader-elect=false",
        # Every controller gets its own service-account client at start-up; the default 20 QPS
        # client limit alone makes that take seconds on loopback.
        "--kube-api-qps=500",
        "--kube-api-burst=1000",
        # A lost node (no Lease renewal) is NotReady and tainted 20 s after its last renewal, not
        # the default 50 s: a test of a lost node waits that plus the pods' tolerationSeconds. The
        # kubelets renew every 3 s (nodeconfig.py), so a busy machine never misses six in a row.
        "--node-monitor-grace-period=20s",
        "--node-monitor-period=2s",
        "--profiling=false",
        "--v=1",
    ]
