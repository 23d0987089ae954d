"""The node's configuration and its refusals, checked without starting anything."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path

import pytest

from ironflow.envtest import __main__ as envtest_cli
from ironflow.envtest import components, nodehost, nodenet, processes
from ironflow.envtest.components import Layout, Ports
from ironflow.envtest.nodeconfig import (
    BRIDGE,
    HOST_ADDRESS,
    PAUSE_IMAGE,
    KubeletFiles,
    NodeLayout,
    cni_conflist,
    containerd_toml,
    kubelet_config,
)

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


def test_given_containerd_config_then_private_dirs_local_pause_and_no_negative_oom_score() -> None:
    config = tomllib.loads(containerd_toml(LAYOUT))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == PAUSE_IMAGE
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert runc["SystemdCgroup"] is False
    private = [
        config["root"],
        config["state"],
        config["grpc"]["address"],
        runc["Root"],
        cri["cni"]["conf_dir"],
    ]
    assert all(path.startswith(f"{LAYOUT.root}/") for path in private), private


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
