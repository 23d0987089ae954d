"""The pod network: pods reach the `kubernetes` Service and nothing else off the bridge.

An in-cluster operator needs its ServiceAccount credentials to work, so a pod must reach the API
server through the Service IP; the API server must reach pods (webhook endpoints). Nothing may
leave the machine: no default route in a pod, no masquerade, no forwarding, and the host's other
services stay out of a pod's reach. Evidence comes from both sides: what a pod's process can
connect to (busybox `nc`, through `kubectl logs`) and the host's rules and sysctls.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from node_support import pod, run

from ironflow_testbed import nodehost
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.components import SERVICE_IP
from ironflow_testbed.node import Node
from ironflow_testbed.nodeconfig import BRIDGE, HOST_ADDRESS, POD_SUBNET
from ironflow_testbed.nodehost import read_sysctls


def _probe(target: str) -> str:
    host, port = target.rsplit(":", 1)
    return (
        f"if timeout 8 nc -w 4 {host} {port} </dev/null; then echo 'OPEN {target}'; "
        f"else echo 'CLOSED {target}'; fi"
    )


@pytest.fixture
def host_listener(node: Node) -> Iterator[int]:
    """A host service on the bridge's own address: a pod must not reach it (only the API server)."""
    with socket.socket() as listener:
        listener.bind((HOST_ADDRESS, 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_given_pod_when_it_dials_then_only_the_kubernetes_service_answers_and_no_default_route(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, host_listener: int
) -> None:
    targets = [f"{SERVICE_IP}:443", f"{HOST_ADDRESS}:{host_listener}", "10.0.0.2:443"]
    command = "; ".join(
        [*(_probe(t) for t in targets), "echo '--- routes'; cat /proc/net/route", "echo '=== end'"]
    )
    raw = run(cluster, k8s_api, namespace, pod("dialer", {}, command=command)).raw

    assert f"OPEN {SERVICE_IP}:443" in raw, raw  # the API server, through the Service DNAT
    assert f"CLOSED {HOST_ADDRESS}:{host_listener}" in raw, raw  # other host services: dropped
    assert "CLOSED 10.0.0.2:443" in raw, raw  # nothing else in the Service CIDR
    routes = [line.split() for line in raw.split("--- routes\n", 1)[1].splitlines()[1:] if line.strip()]
    assert routes and all(fields[1] != "00000000" for fields in routes), f"a default route in the pod:\n{raw}"


def test_given_running_node_then_nothing_is_masqueraded_or_forwarded_off_the_bridge(node: Node) -> None:
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    masquerade = [line for line in saved.splitlines() if "MASQUERADE" in line or "SNAT" in line]
    assert [line for line in masquerade if f"-o {BRIDGE}" not in line] == []
    record = nodehost.MachineRecord.load()
    assert record is not None
    assert read_sysctls()["net/ipv4/ip_forward"] == record.sysctls["net/ipv4/ip_forward"]  # untouched
    assert Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet").read_text().strip() == "1"
    for name in Path("/proc/sys/net/ipv4/conf").iterdir():
        if name.name not in (BRIDGE, "lo"):
            assert (name / "route_localnet").read_text().strip() == "0", name.name
    routes = subprocess.run(
        ["ip", "-4", "route", "show", "dev", BRIDGE], capture_output=True, text=True
    ).stdout
    assert [line.split()[0] for line in routes.splitlines()] == [POD_SUBNET], routes  # connected subnet only
