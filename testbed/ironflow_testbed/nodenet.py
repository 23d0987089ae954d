"""The pod network's way to the API server, confined to the bridge: an in-cluster operator runs.

Pods reach the `kubernetes` Service (what in-cluster credentials dial) and nothing else on the
machine; the API server reaches pods (webhook endpoints, `--enable-aggregator-routing`) over the
bridge. Nothing is forwarded, masqueraded or routed to another interface:

- the bridge gets a host address (`HOST_ADDRESS`/24), so the host has a connected route to the
  pods and pods have a next hop; the CNI config gives pods one route, to the Service CIDR via that
  address, never a default route (`nodeconfig.cni_conflist`);
- one DNAT rule, only for packets entering from the bridge, sends the `kubernetes` Service
  (`SERVICE_IP:443`) to the API server on loopback; `route_localnet` is set on the bridge alone
  (it goes with the bridge), so a loopback destination is accepted from it and nowhere else;
- an INPUT chain for the bridge accepts replies and that DNAT'ed connection and drops everything
  else, so pods cannot reach other host services listening on a wildcard address;
- a FORWARD chain drops whatever enters from the bridge for another interface, should anything
  ever turn on `ip_forward` (the node keeps it as it was, 0 here, and restores it at teardown).

Why not kube-proxy (built at the pinned version): its iptables mode adds an unconditional
`MASQUERADE` (KUBE-POSTROUTING, no output interface), sets `route_localnet` and conntrack sysctls
machine-wide, and needs Endpoints for the `kubernetes` Service, which the API server here cannot
publish (it listens on loopback, an address Endpoints refuse). One Service with one backend on the
same machine needs one DNAT rule. docs/node.md explains the resulting network.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ironflow_testbed.components import SERVICE_IP
from ironflow_testbed.nodeconfig import BRIDGE, HOST_ADDRESS, POD_SUBNET

PREFIX = POD_SUBNET.split("/", 1)[1]
NAT_CHAIN = "IRONFLOW-NODE-SVC"
INPUT_CHAIN = "IRONFLOW-NODE-IN"
FORWARD_CHAIN = "IRONFLOW-NODE-FWD"
# (table, built-in chain, our chain): every jump is `-i BRIDGE -j ours`, so teardown finds it again.
JUMPS = (
    ("nat", "PREROUTING", NAT_CHAIN),
    ("filter", "INPUT", INPUT_CHAIN),
    ("filter", "FORWARD", FORWARD_CHAIN),
)


def _iptables(table: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["iptables", "-w", "5", "-t", table, *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


def rules(apiserver_port: int) -> dict[str, list[list[str]]]:
    """The rules of our chains, by table (arguments after `-A CHAIN`)."""
    api = ["-d", "127.0.0.1/32", "-p", "tcp", "--dport", str(apiserver_port)]
    return {
        NAT_CHAIN: [
            ["-d", f"{SERVICE_IP}/32", "-p", "tcp", "--dport", "443",
             "-j", "DNAT", "--to-destination", f"127.0.0.1:{apiserver_port}"],
        ],
        INPUT_CHAIN: [
            ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
            [*api, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"],
            ["-j", "DROP"],
        ],
        FORWARD_CHAIN: [["!", "-o", BRIDGE, "-j", "DROP"]],
    }  # fmt: skip


def set_up(apiserver_port: int) -> None:
    """Bridge with its host address, route_localnet on it, our chains and their jumps (idempotent)."""
    tear_down()
    if not Path("/sys/class/net", BRIDGE).exists():  # the CNI plugin adopts a bridge that exists
        _ip("link", "add", BRIDGE, "type", "bridge")
    _ip("addr", "add", f"{HOST_ADDRESS}/{PREFIX}", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    Path("/proc/sys/net/ipv4/conf", BRIDGE, "route_localnet").write_text("1\n")
    chains = rules(apiserver_port)
    for table, builtin, chain in JUMPS:
        _iptables(table, "-N", chain)
        for rule in chains[chain]:
            _iptables(table, "-A", chain, *rule)
        _iptables(table, "-I", builtin, "1", "-i", BRIDGE, "-j", chain)


def tear_down() -> list[str]:
    """Remove our jumps and chains (the bridge, its address and sysctl go with `delete_bridge`).

    Safe to call when nothing was set up, and after a SIGKILL: everything is found by name.
    Returns what could not be removed.
    """
    problems = []
    for table, builtin, chain in JUMPS:
        while _iptables(table, "-D", builtin, "-i", BRIDGE, "-j", chain, check=False).returncode == 0:
            pass
        if _iptables(table, "-n", "-L", chain, check=False).returncode == 0:
            _iptables(table, "-F", chain, check=False)
            if _iptables(table, "-X", chain, check=False).returncode != 0:
                problems.append(f"iptables chain {table}/{chain} still exists")
    return problems


def leftover_rules() -> list[str]:
    """Lines of `iptables-save` that name our chains or the bridge: empty after teardown."""
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False, timeout=30).stdout
    return [line for line in saved.splitlines() if "IRONFLOW-NODE" in line or BRIDGE in line]
