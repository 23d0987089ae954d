"""Kubernetes' own namespaces never get the sealing-key ConfigMap by default, even when a glob
(or "all namespaces") matches them."""

from __future__ import annotations

import pytest
from kubernetes import client
from operator_fixtures import Operator, configmap_data, new_key

from ironflow.core.crypto import derive_sealing_key
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures"]
SYSTEM = ("kube-system", "kube-public", "kube-node-lease")


def test_given_glob_matching_system_namespaces_when_served_then_no_sealing_key_published_there(
    operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.namespaces = ["kube-*", namespace]  # a glob: namespaces are discovered, kube-* matched
    operator.start()
    kid = derive_sealing_key(bytes.fromhex(key)).kid
    # One discovery listing serves the test namespace and matches the system ones: once the first
    # is published, the others would have been queued in the same pass.
    eventually(
        lambda: (configmap_data(k8s_api, namespace, "ironflow-sealing-key") or {}).get("keyId") == kid,
        what="sealing key in the served namespace",
    )
    for system in SYSTEM:
        assert configmap_data(k8s_api, system, "ironflow-sealing-key") is None, system
    assert "published ironflow-sealing-key in kube-" not in operator.logs()
    if cluster.audit is None:  # what was checked above holds; "no write was even tried" needs the log
        pytest.skip("audit log needed: external cluster")
    for system in SYSTEM:
        events = cluster.audit.events(user=operator.user, namespace=system, resource="configmaps")
        writes = [e for e in events if e.verb in ("create", "patch", "update")]
        assert writes == [], system
