"""Fixtures for the CLI integration tests (a plugin module, so pytest can rewrite its asserts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli, publish_sealing_key, trust_signer
from kubernetes import client

from ironflow.core.keyring import Keyring
from ironflow_testbed.cluster import Cluster


@pytest.fixture
def cli(cluster: Cluster, crds: list[str], tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(cluster.kubeconfig, home)


@pytest.fixture
def keyring(cli: Cli, k8s_api: client.ApiClient, namespace: str) -> Iterator[Keyring]:
    published = publish_sealing_key(k8s_api, namespace)
    assert published is not None
    trust_signer(cli, published)
    yield published


@pytest.fixture
def served(k8s_api: client.ApiClient, namespace: str) -> str:
    """`namespace` as an operator serving it leaves it: with a sealing-key ConfigMap (keyed, by a
    signer nobody pinned), so that `config set` accepts it. `keyring` replaces it with its own."""
    core = client.CoreV1Api(k8s_api)
    existing = core.list_namespaced_config_map(namespace, field_selector="metadata.name=ironflow-sealing-key")
    if not existing.items:
        publish_sealing_key(k8s_api, namespace)
    return namespace
