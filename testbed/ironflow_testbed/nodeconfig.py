"""Files of the test bed's node: containerd's config, the kubelet's, the CNI network, their places.

Every path is private to one node directory except what the kernel makes global (cgroups, the
bridge, sysctls), named once here so start-up and clean-up agree on them. The choices that make
a kubelet run on this kind of machine (cgroup v1, no CAP_SYS_RESOURCE, no registry, no systemd)
are explained where they are made; docs/node.md tells the story.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ironflow_testbed.components import SERVICE_CIDR

NODE_NAME = "127.0.0.1"  # --hostname-override: name and address, so the API server dials loopback
MAX_NODES = 4  # node i is 127.0.0.(i+1), pods .(64i+2) to .(64i+63) on the one bridge
BRIDGE = "ironflow0"
NETWORK = "ironflow-node"
POD_SUBNET = "10.199.0.0/24"
HOST_ADDRESS = "10.199.0.1"  # the bridge's own address (nodenet.py): pods' next hop to the API server
CGROUP_ROOT = "/ironflow-node"
_BLOCK = 64  # addresses of the pod subnet per node (maxPods 50 fits)
CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
PAUSE_IMAGE = "ironflow.invalid/pause:1"  # .invalid never resolves: nothing can be pulled by mistake
BUSYBOX_IMAGE = "ironflow.invalid/busybox:1.35"
# The kubelet sets these whatever it is told (protectKernelDefaults only turns the set into a
# check that fails); ip_forward is ours to watch: nothing may start forwarding off this machine.
SYSCTLS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward")


def node_name(index: int) -> str:
    """Name and address of node `index`: all of 127.0.0.0/8 is loopback, so each kubelet has its
    own address there and the API server still dials only this machine."""
    if not 0 <= index < MAX_NODES:
        raise ValueError(f"node index {index}: at most {MAX_NODES} nodes")
    return f"127.0.0.{index + 1}"


def node_dir(cluster_root: Path, index: int) -> Path:
    """`<cluster dir>/node` for the first node (as before there were more), `node2`... after it."""
    return cluster_root / ("node" if index == 0 else f"node{index + 1}")


@dataclass(frozen=True)
class NodeLayout:
    """File locations inside one node directory (`<cluster dir>/node`, `node2`...), and what makes
    node `index` distinct on the machine: its name and address, cgroup root and pod addresses."""

    root: Path
    index: int = 0

    @property
    def name(self) -> str:
        return node_name(self.index)

    @property
    def cgroup_root(self) -> str:
        """The first node's root holds the others' (`/ironflow-node/node2`): one tree to remove."""
        return CGROUP_ROOT if self.index == 0 else f"{CGROUP_ROOT}/node{self.index + 1}"

    @property
    def pod_range(self) -> tuple[str, str]:
        """First and last pod address of this node on the shared pod subnet."""
        base = ipaddress.ip_network(POD_SUBNET).network_address + _BLOCK * self.index
        return str(base + 2), str(base + _BLOCK - 1)

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def runtime_record(self) -> Path:
        return self.root / "runtime.json"  # which containerd (noderuntime.Runtime)

    @property
    def socket(self) -> Path:
        return self.root / "containerd.sock"

    @property
    def runc_root(self) -> Path:
        return self.root / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def ipam_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet-config.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pods"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def state(self) -> Path:
        return self.root / "node.json"

    def kubeconfig(self, component: str) -> Path:
        return self.root / f"{component}.kubeconfig"

    def log(self, component: str) -> Path:
        return self.root / f"{component}.log"


def cni_conflist(layout: NodeLayout) -> dict[str, Any]:
    """A bridge with no masquerade and no default route: pods reach each other and the Service CIDR.

    The host address on the bridge is set by `nodenet.set_up`, not by the plugin: `isGateway`
    would also turn on `ip_forward`. Pods get one route, to the Service CIDR via that address
    (where one DNAT rule serves the `kubernetes` Service); addresses start after it. Every node
    of a cluster shares the bridge and the subnet, each with its own block of addresses and its
    own allocation directory, so pods of different nodes reach each other on the bridge.
    """
    first, last = layout.pod_range
    return {
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": False,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": False,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET, "rangeStart": first, "rangeEnd": last}]],
                    "routes": [{"dst": SERVICE_CIDR, "gw": HOST_ADDRESS}],
                    "dataDir": str(layout.ipam_dir),
                },
            }
        ],
    }


@dataclass(frozen=True)
class KubeletFiles:
    """What the kubelet's configuration points at: its CA, serving pair and ports."""

    ca: Path
    serving_cert: Path
    serving_key: Path
    port: int
    healthz_port: int


def kubelet_config(layout: NodeLayout, files: KubeletFiles) -> dict[str, Any]:
    """KubeletConfiguration: hardened like a real node (webhook authn/authz), fitted to this machine."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": layout.name,
        "port": files.port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": files.healthz_port,
        "tlsCertFile": str(files.serving_cert),
        "tlsPrivateKeyFile": str(files.serving_key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(files.ca)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{layout.socket}",
        "imageServiceEndpoint": f"unix://{layout.socket}",
        "failCgroupV1": False,  # this machine has cgroup v1 only
        "cgroupDriver": "cgroupfs",  # 1.6 cannot tell the kubelet its driver; 2.x tells cgroupfs
        "cgroupRoot": layout.cgroup_root,
        "cgroupsPerQOS": True,
        "failSwapOn": False,
        "makeIPTablesUtilChains": False,
        # no registry: images are imported, never pulled, and must never be collected
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "podLogsDir": str(layout.pod_logs),
        "resolvConf": "",
        "registerNode": True,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "maxPods": 50,
        "fileCheckFrequency": "1s",
        "syncFrequency": "10s",
        "nodeStatusUpdateFrequency": "5s",
        # the Lease renewed every 3 s (a quarter of it): the controller manager's test-sized
        # grace period (components.py) then tells a lost node within seconds, never a busy one
        "nodeLeaseDurationSeconds": 12,
    }


def write_configs(layout: NodeLayout, files: KubeletFiles, containerd_config: str) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.containerd_config.write_text(containerd_config)
    layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    (layout.cni_conf_dir / "10-ironflow.conflist").write_text(json.dumps(cni_conflist(layout), indent=2))
    layout.kubelet_config.write_text(yaml.safe_dump(kubelet_config(layout, files), sort_keys=False))
