"""The node's configuration and its refusals, checked without starting anything."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path

import pytest

from ironflow_testbed import __main__ as envtest_cli
from ironflow_testbed import components, nodehost, nodenet, processes
from ironflow_testbed.components import Layout, Ports
from ironflow_testbed.nodeconfig import (
    BRIDGE,
    CGROUP_ROOT,
    HOST_ADDRESS,
    MAX_NODES,
    PAUSE_IMAGE,
    KubeletFiles,
    NodeLayout,
    cni_conflist,
    kubelet_config,
    node_dir,
    node_name,
)
from ironflow_testbed.noderuntime import CONTAINERD_VERSION, Runtime, containerd_toml, select

LAYOUT = NodeLayout(Path("/srv/cluster/node"))
FILES = KubeletFiles(Path("/srv/ca.crt"), Path("/srv/k.crt"), Path("/srv/k.key"), 10250, 10248)


def test_given_kubelet_config_then_hardened_like_a_real_node_and_fitted_to_this_machine() -> None:
    config = kubelet_config(LAYOUT, FILES)
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authentication"]["webhook"] == {"enabled": True}
    assert config["authorization"] == {"mode": "Webhook"}
    assert (config["address"], config["healthzBindAddress"], config["readOnlyPort"]) == (
        "127.0.0.1",
        "127.0.0.1",
        0,
    )
    assert (config["failCgroupV1"], config["cgroupDriver"], config["makeIPTablesUtilChains"]) == (
        False,
        "cgroupfs",
        False,
    )
    assert config["imageGCHighThresholdPercent"] == 100
    assert config["containerRuntimeEndpoint"] == f"unix://{LAYOUT.socket}"


def test_given_cni_network_then_no_gateway_no_masquerade_and_only_a_service_cidr_route() -> None:
    (bridge,) = cni_conflist(LAYOUT)["plugins"]
    assert (bridge["isGateway"], bridge["isDefaultGateway"], bridge["ipMasq"]) == (False, False, False)
    assert bridge["ipam"]["routes"] == [{"dst": components.SERVICE_CIDR, "gw": HOST_ADDRESS}]
    ((pool,),) = bridge["ipam"]["ranges"]
    assert ipaddress.ip_network(pool["subnet"]).is_private
    assert ipaddress.ip_address(HOST_ADDRESS) in ipaddress.ip_network(pool["subnet"])
    assert ipaddress.ip_address(pool["rangeStart"]) > ipaddress.ip_address(HOST_ADDRESS)
    assert bridge["ipam"]["dataDir"].startswith(str(LAYOUT.root))


CONTAINERD_1 = Runtime(1, None)
CONTAINERD_2 = Runtime(2, Path("/cache/containerd/v2.4.2"))


def test_given_containerd_1_6_then_config_v2_private_dirs_local_pause_and_no_negative_oom_score() -> None:
    config = tomllib.loads(containerd_toml(LAYOUT, CONTAINERD_1))
    assert config["version"] == 2
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == PAUSE_IMAGE
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert runc["SystemdCgroup"] is False
    private = [config["root"], config["state"], config["grpc"]["address"], runc["Root"]]
    private.append(cri["cni"]["conf_dir"])
    assert all(path.startswith(f"{LAYOUT.root}/") for path in private), private
    assert "io.containerd.internal.v1.opt" in config["disabled_plugins"]


def test_given_containerd_2_then_config_v3_with_cri_split_into_images_runtime_and_streaming() -> None:
    config = tomllib.loads(containerd_toml(LAYOUT, CONTAINERD_2))
    assert config["version"] == 3
    plugins = config["plugins"]
    images, runtime = plugins["io.containerd.cri.v1.images"], plugins["io.containerd.cri.v1.runtime"]
    # 2.x reads these only in their new places: a v2-style key here would be silently ignored
    assert runtime["restrict_oom_score_adj"] is True
    assert (runtime["disable_apparmor"], runtime["netns_mounts_under_state_dir"]) == (True, True)
    assert images["pinned_images"] == {"sandbox": PAUSE_IMAGE}
    assert images["snapshotter"] == "overlayfs"
    assert set(plugins["io.containerd.grpc.v1.cri"]) == {"stream_server_address", "stream_server_port"}
    assert plugins["io.containerd.grpc.v1.cri"]["stream_server_address"] == "127.0.0.1"
    runc = runtime["containerd"]["runtimes"]["runc"]
    assert (runc["runtime_type"], runc["options"]["SystemdCgroup"]) == ("io.containerd.runc.v2", False)
    assert runtime["cni"]["bin_dirs"] == ["/usr/lib/cni"]
    private = [config["root"], config["state"], config["grpc"]["address"], runc["options"]["Root"]]
    private.append(runtime["cni"]["conf_dir"])
    assert all(path.startswith(f"{LAYOUT.root}/") for path in private), private
    # NRI would create /var/run/nri/nri.sock, outside the node directory
    assert {"io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt"} <= set(config["disabled_plugins"])


def test_given_no_choice_then_containerd_2_from_the_build_cache_else_debian_1_6_on_request(
    tmp_path: Path,
) -> None:
    chosen = select({"IRONFLOW_CACHE_DIR": str(tmp_path)})
    assert (chosen.major, chosen.bin_dir) == (2, tmp_path / "containerd" / CONTAINERD_VERSION)
    assert select({"IRONFLOW_CONTAINERD": "2", "IRONFLOW_CONTAINERD_DIR": "/x"}).bin_dir == Path("/x")
    assert select({"IRONFLOW_CONTAINERD": "1.6"}) == Runtime(1, None)
    assert select({"IRONFLOW_CONTAINERD": "1"}) == Runtime(1, None)
    with pytest.raises(ValueError, match=r"IRONFLOW_CONTAINERD='1\.7'"):
        select({"IRONFLOW_CONTAINERD": "1.7"})


def test_given_containerd_2_then_its_own_binaries_and_shim_come_first_on_path() -> None:
    assert CONTAINERD_2.tool("ctr") == "/cache/containerd/v2.4.2/ctr"
    assert CONTAINERD_2.env({"PATH": "/usr/bin"})["PATH"] == "/cache/containerd/v2.4.2:/usr/bin"
    assert CONTAINERD_1.tool("ctr") == "ctr"
    assert CONTAINERD_1.env({"PATH": "/usr/bin"})["PATH"] == "/usr/bin"
    reason = CONTAINERD_2.unavailable_reason()
    assert reason is not None and "hack/build-containerd.sh" in reason


def test_given_a_node_dir_then_the_runtime_it_started_with_is_read_back_for_cleanup(tmp_path: Path) -> None:
    layout = NodeLayout(tmp_path)
    assert Runtime.load(layout) == CONTAINERD_1  # a directory from before the choice existed
    CONTAINERD_2.save(layout)
    assert Runtime.load(layout) == CONTAINERD_2


def test_given_proxy_variables_when_a_component_is_spawned_then_none_reaches_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTPS_PROXY", "NO_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://proxy.invalid:3128")
    monkeypatch.setenv("IRONFLOW_KEEP", "kept")
    log = tmp_path / "env.log"
    proc, _ = processes.spawn("env", ["env"], log, die_with_parent=True)
    proc.wait(timeout=10)
    names = {line.split("=", 1)[0] for line in log.read_text().splitlines()}
    assert "IRONFLOW_KEEP" in names
    assert not names & processes.PROXY_VARIABLES


def test_given_api_server_command_line_then_it_can_reach_kubelets_and_routes_services_to_endpoints() -> None:
    layout = Layout(Path("/srv/cluster"))
    argv = components.kube_apiserver(Path("/bin"), layout, Ports(1, 2, 3, 4))
    assert "--enable-aggregator-routing=true" in argv
    assert f"--kubelet-client-certificate={layout.cert('apiserver-kubelet-client')}" in argv
    assert f"--kubelet-certificate-authority={layout.cert('ca')}" in argv


def test_given_not_root_when_up_with_node_then_one_line_says_why_and_nothing_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bins = tmp_path / "bin"
    bins.mkdir()
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl"):
        (bins / name).write_text("#!/bin/sh\nexit 1\n")
        (bins / name).chmod(0o755)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code = envtest_cli.main(["up", "--node", "--dir", str(tmp_path / "cluster"), "--bin-dir", str(bins)])
    err = capsys.readouterr().err
    assert code == 3
    assert err.count("\n") == 1 and "needs root" in err, err
    assert not (tmp_path / "cluster" / "state.json").exists()


def test_given_machine_record_when_saved_then_loaded_unchanged(tmp_path: Path) -> None:
    record = nodehost.MachineRecord("/srv/node", {"kernel/panic": "1"}, ["/run/containerd"])
    record.save(tmp_path / "record.json")
    assert nodehost.MachineRecord.load(tmp_path / "record.json") == record
    assert nodehost.MachineRecord.load(tmp_path / "absent.json") is None


def test_given_node_network_then_only_the_kubernetes_service_is_translated_and_nothing_masqueraded() -> None:
    chains = nodenet.rules(6443)
    flat = [" ".join(rule) for rules in chains.values() for rule in rules]
    assert not [r for r in flat if "MASQUERADE" in r or "SNAT" in r]
    (dnat,) = [r for r in flat if "DNAT --to-destination" in r]
    assert f"-d {components.SERVICE_IP}/32 -p tcp --dport 443" in dnat
    assert dnat.endswith("--to-destination 127.0.0.1:6443")
    assert chains[nodenet.INPUT_CHAIN][-1] == ["-j", "DROP"]  # pods reach no other host service
    assert chains[nodenet.FORWARD_CHAIN] == [["!", "-o", BRIDGE, "-j", "DROP"]]
    assert {chain for _, _, chain in nodenet.JUMPS} == set(chains)


def test_given_a_scratch_home_then_containerd_2_is_still_looked_up_in_the_accounts_build_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # what the test sessions do
    chosen = select({})
    assert chosen.bin_dir is not None and tmp_path not in chosen.bin_dir.parents
    assert chosen.bin_dir.parts[-2:] == ("containerd", CONTAINERD_VERSION)


def test_given_two_nodes_then_each_has_its_own_name_dirs_cgroup_root_and_pod_addresses() -> None:
    first, second = NodeLayout(node_dir(Path("/srv/c"), 0)), NodeLayout(node_dir(Path("/srv/c"), 1), 1)
    assert (first.root, second.root) == (Path("/srv/c/node"), Path("/srv/c/node2"))
    assert (first.name, second.name) == ("127.0.0.1", "127.0.0.2")
    assert all(ipaddress.ip_address(n.name).is_loopback for n in (first, second))
    assert (first.cgroup_root, second.cgroup_root) == (CGROUP_ROOT, f"{CGROUP_ROOT}/node2")
    assert {first.socket, first.kubelet_root, first.ipam_dir}.isdisjoint(
        {second.socket, second.kubelet_root, second.ipam_dir}
    )
    ranges = []
    for layout in (first, second):
        (bridge,) = cni_conflist(layout)["plugins"]
        assert bridge["bridge"] == BRIDGE  # one bridge for every node
        ((pool,),) = bridge["ipam"]["ranges"]
        ranges.append(range(int(ipaddress.ip_address(pool["rangeStart"])),
                            int(ipaddress.ip_address(pool["rangeEnd"])) + 1))  # fmt: skip
        assert ipaddress.ip_address(pool["rangeEnd"]) in ipaddress.ip_network(pool["subnet"])
        assert len(ranges[-1]) >= kubelet_config(layout, FILES)["maxPods"]
        config = kubelet_config(layout, FILES)
        assert (config["address"], config["cgroupRoot"]) == (layout.name, layout.cgroup_root)
    assert not set(ranges[0]) & set(ranges[1])
    assert int(ipaddress.ip_address(HOST_ADDRESS)) not in set(ranges[0]) | set(ranges[1])
    with pytest.raises(ValueError):
        node_name(MAX_NODES)


def test_given_machine_record_with_another_node_when_saved_then_loaded_unchanged(tmp_path: Path) -> None:
    extra: list[dict[str, str | int]] = [{"dir": "/srv/c/node2", "index": 1}]
    record = nodehost.MachineRecord("/srv/c/node", {"kernel/panic": "0"}, [], extra)
    record.save(tmp_path / "record.json")
    assert nodehost.MachineRecord.load(tmp_path / "record.json") == record
