"""The node's own life: a stop leaves the machine as it was, a start cleans up after a SIGKILL.

These tests stop and restart the session's node (and leave it Ready again for the others).
"""

from __future__ import annotations

import ipaddress
import os
import signal
from pathlib import Path

from kubernetes import client
from node_fixtures import another_node
from node_support import pod, wait_phase

from ironflow_testbed import eventually, nodehost, nodenet, processes
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node


def _shims(node: Node) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"containerd-shim-runc-v2") and str(node.layout.socket).encode() in argv:
            found.append(int(entry.name))
    return found


def _processes_using(directory: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(directory) in cmdline and entry.name != str(os.getpid()):
            found.append(f"{entry.name}: {cmdline[:160]}")
    return found


def _log_links_into(directory: Path) -> list[Path]:
    """The kubelet's /var/log/containers symlinks into the node directory (written whatever podLogsDir)."""
    links = Path("/var/log/containers")
    found = links.iterdir() if links.is_dir() else iter(())
    return [link for link in found if link.is_symlink() and str(directory) in os.readlink(link)]


def _cgroups() -> list[Path]:
    return [h / "ironflow-node" for h in nodehost.cgroup_hierarchies() if (h / "ironflow-node").exists()]


def test_given_running_pod_when_node_stopped_then_no_process_mount_bridge_cgroup_or_changed_sysctl_is_left(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, node: Node
) -> None:
    client.CoreV1Api(k8s_api).create_namespaced_pod(namespace, pod("sleeper", {}, command="exec sleep inf"))
    wait_phase(k8s_api, namespace, "sleeper", "Running")
    record = nodehost.MachineRecord.load()
    assert record is not None and _shims(node) and nodehost.mounts_under(node.layout.root)

    assert node.stop() == []

    assert _processes_using(node.layout.root) == []
    assert _shims(node) == []
    assert nodehost.mounts_under(node.layout.root) == []
    assert not nodehost.bridge_exists()  # and with it the host address and route_localnet
    assert nodenet.leftover_rules() == []
    assert _cgroups() == []
    assert nodehost.read_sysctls() == record.sysctls
    assert not nodehost.MACHINE_RECORD.exists()
    assert [p for p in record.created if Path(p).exists()] == []
    assert _log_links_into(node.layout.root) == []
    assert client.CoreV1Api(k8s_api).list_namespaced_pod(namespace).items == []  # pods go before the node
    node.start()


def test_given_node_killed_by_sigkill_when_started_again_then_leftovers_are_cleaned_and_pods_run(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, node: Node
) -> None:
    core = client.CoreV1Api(k8s_api)
    core.create_namespaced_pod(namespace, pod("orphan", {}, command="exec sleep inf"))
    wait_phase(k8s_api, namespace, "orphan", "Running")
    record = nodehost.MachineRecord.load()
    assert record is not None
    # what a SIGKILLed test session leaves: PDEATHSIG kills the node's processes, not the shims
    for started in node.records:
        os.kill(started.pid, signal.SIGKILL)
    eventually(
        lambda: not any(processes.is_alive(r) for r in node.records),
        timeout=30,
        what="the node's processes dead",
    )
    left = [processes.ProcessRecord("shim", pid, processes.start_ticks(pid) or -1) for pid in _shims(node)]
    assert left, "a killed containerd leaves its shims (and their containers) running"
    # the killed session's control plane would be gone with its pods; this one stays, so delete them
    core.delete_namespaced_pod("orphan", namespace, grace_period_seconds=0)

    node.start()

    assert [r for r in left if processes.is_alive(r)] == [], "a shim of the killed node survived"
    assert nodehost.MachineRecord.load() == record  # the machine's original sysctls, not the kubelet's
    jumps = [line for line in nodenet.leftover_rules() if line.startswith("-A ") and " -i " in line]
    assert len(jumps) == len(nodenet.JUMPS), f"network rules not replaced exactly once: {jumps}"
    core.create_namespaced_pod(namespace, pod("after", {}, command="echo alive; echo '=== end'"))
    wait_phase(k8s_api, namespace, "after", "Succeeded")


def test_given_a_second_node_with_a_pod_when_it_stops_then_nothing_of_it_is_left_and_the_first_runs_on(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, node: Node
) -> None:
    core = client.CoreV1Api(k8s_api)
    with another_node(cluster, node) as second:
        body = pod("on-second", {}, command="exec sleep inf")
        body["spec"]["nodeName"] = second.name
        core.create_namespaced_pod(namespace, body)
        wait_phase(k8s_api, namespace, "on-second", "Running")
        ip = core.read_namespaced_pod("on-second", namespace).status.pod_ip
        assert ip in second_range(second), ip  # its own block of the shared subnet
        record = nodehost.MachineRecord.load()
        assert record is not None and [e["dir"] for e in record.extra_nodes] == [str(second.layout.root)]
        assert _shims(second) and nodehost.mounts_under(second.layout.root)
    # another_node stopped it and asserted no problem was reported; check for ourselves
    assert _processes_using(second.layout.root) == []
    assert _shims(second) == []
    assert nodehost.mounts_under(second.layout.root) == []
    assert [h for h in nodehost.cgroup_hierarchies() if (h / "ironflow-node" / "node2").exists()] == []
    assert _log_links_into(second.layout.root) == []
    record = nodehost.MachineRecord.load()
    assert record is not None and record.extra_nodes == [] and record.node_dir == str(node.layout.root)
    assert [n.metadata.name for n in core.list_node().items] == [node.name]
    assert nodehost.bridge_exists() and len(nodenet.leftover_rules()) > 0  # the first node's, kept
    core.create_namespaced_pod(namespace, pod("after-second", {}, command="echo alive; echo '=== end'"))
    wait_phase(k8s_api, namespace, "after-second", "Succeeded")


def second_range(second: Node) -> list[str]:
    first, last = (ipaddress.ip_address(a) for a in second.layout.pod_range)
    return [str(ipaddress.ip_address(i)) for i in range(int(first), int(last) + 1)]
