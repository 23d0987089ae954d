"""The test session itself cannot reach a cluster by accident (tests/conftest.py's safety rule)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kubernetes import config


def test_given_test_session_when_inspecting_environment_then_in_cluster_hints_are_gone() -> None:
    assert "KUBERNETES_SERVICE_HOST" not in os.environ
    assert "KUBERNETES_SERVICE_PORT" not in os.environ
    with pytest.raises(config.ConfigException):
        config.load_incluster_config()  # type: ignore[no-untyped-call]


def test_given_test_session_when_inspecting_home_then_it_is_a_temporary_dir_without_kubeconfig() -> None:
    home = Path(os.environ["HOME"])
    assert home == Path.home()
    assert home.name.startswith("ironflow-test-home-")
    # kubectl may leave a discovery cache (~/.kube/cache) when integration tests ran first in this
    # session; what must never exist is a default kubeconfig a client could fall back to.
    assert not (home / ".kube" / "config").exists()


def test_given_test_session_when_inspecting_kubeconfig_then_it_is_pinned_explicitly() -> None:
    kubeconfig = Path(os.environ["KUBECONFIG"])
    # Either nothing was selected yet (a path that does not exist) or a cluster fixture pinned its own file.
    assert kubeconfig.name == "no-cluster-selected" or kubeconfig.is_file()
    assert Path.home() / ".kube" / "config" != kubeconfig
