"""Kubeconfig files and the state `envtest up` leaves for `down`: valid, private, round-trippable."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml
from kubernetes import config

from ironflow_testbed import kubeconfig
from ironflow_testbed.binaries import K8S_VERSION, default_bin_dir, find_bin_dir
from ironflow_testbed.components import Ports
from ironflow_testbed.pki import CertificateAuthority
from ironflow_testbed.processes import ProcessRecord
from ironflow_testbed.state import ClusterState

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "hack" / "build-control-plane.sh"


def test_given_client_cert_when_kubeconfig_written_then_kubernetes_client_loads_it_privately(
    tmp_path: Path,
) -> None:
    ca = CertificateAuthority.create()
    pair = ca.issue_client("alice")
    path = kubeconfig.write(
        tmp_path / "kc",
        kubeconfig.build(
            "https://127.0.0.1:6443",
            ca.keypair.cert_pem,
            user="alice",
            cert_pem=pair.cert_pem,
            key_pem=pair.key_pem,
            namespace="prod",
        ),
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    api = config.new_client_from_config(config_file=str(path), persist_config=False)
    try:
        assert api.configuration.host == "https://127.0.0.1:6443"
        assert api.configuration.cert_file and api.configuration.key_file
    finally:
        api.close()
    assert yaml.safe_load(path.read_text())["contexts"][0]["context"]["namespace"] == "prod"


def test_given_token_when_kubeconfig_built_then_bearer_token_user() -> None:
    built = kubeconfig.build("https://127.0.0.1:1", b"ca", user="sa", token="t0k")
    assert built["users"] == [{"name": "sa", "user": {"token": "t0k"}}]


def test_given_no_credentials_when_kubeconfig_built_then_rejected() -> None:
    with pytest.raises(ValueError, match="certificate and key, or a token"):
        kubeconfig.build("https://127.0.0.1:1", b"ca", user="nobody")


def test_given_state_when_saved_and_loaded_then_identical(tmp_path: Path) -> None:
    state = ClusterState(
        "/bin", "https://127.0.0.1:1", Ports(1, 2, 3, 4), (ProcessRecord("etcd", 10, 99),), {"total": 1.5}
    )
    state.save(tmp_path / "state.json")
    assert ClusterState.load(tmp_path / "state.json") == state
    assert ClusterState.load(tmp_path / "absent.json") is None


def test_given_directory_without_binaries_when_finding_then_error_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make control-plane"):
        find_bin_dir(tmp_path)


def test_given_home_when_default_dir_computed_then_versioned_cache_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IRONFLOW_CACHE_DIR", raising=False)
    # the same key as hack/build-control-plane.sh: a stale key sends `envtest up` to an empty dir
    pins = dict(re.findall(r'^(\w+)_VERSION="\$\{IRONFLOW_\w+:-(v[\d.]+)\}"', BUILD_SCRIPT.read_text(), re.M))
    pins["K8S"] = K8S_VERSION
    key = f"k8s-{pins['K8S']}_etcd-{pins['ETCD']}_helm-{pins['HELM']}_crictl-{pins['CRICTL']}"
    assert default_bin_dir(tmp_path) == tmp_path / ".cache/ironflow/control-plane" / key
