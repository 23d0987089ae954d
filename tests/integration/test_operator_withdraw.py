"""Narrowing `namespaces`: the sealing key is withdrawn from the namespaces no longer served."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from cli_support import Cli
from kubernetes import client
from operator_fixtures import Operator, configmap_data, new_key

from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures", "cli_fixtures"]
SEALING_KEY = "ironflow-sealing-key"


@pytest.fixture
def extra_namespaces(k8s_api: client.ApiClient) -> Iterator[list[str]]:
    core = client.CoreV1Api(k8s_api)
    made = [f"t-withdraw-{which}-{uuid.uuid4().hex[:8]}" for which in ("old", "foreign", "hand")]
    for name in made:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield made
    for name in made:
        core.delete_namespace(name, propagation_policy="Background")


def _configmap(name: str, annotations: dict[str, str] | None, labelled: bool = True) -> client.V1ConfigMap:
    labels = {"app.kubernetes.io/managed-by": "ironflow-operator"} if labelled else None
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels, annotations=annotations),
        data={"mode": "keyed", "keyId": "0123456789abcdef"},
    )


def _keyed_environments(cli: Cli) -> set[str]:
    run = cli("status", "-o", "json")  # exit 4 is fine here: other tests' resources may need attention
    return {row["environment"] for row in json.loads(run.stdout)["keys"] if row["mode"] == "keyed"}


def test_given_namespaces_narrowed_when_operator_restarts_then_its_sealing_key_withdrawn_only_there(
    operator: Operator, cli: Cli, namespace: str, k8s_api: client.ApiClient, extra_namespaces: list[str]
) -> None:
    old, foreign, hand = extra_namespaces
    core = client.CoreV1Api(k8s_api)
    operator.set_master_key(new_key())
    operator.namespaces = [namespace, old]
    operator.start()
    for ns in (namespace, old):
        eventually(lambda ns=ns: configmap_data(k8s_api, ns, SEALING_KEY), what=f"sealing key in {ns}")
    assert old in _keyed_environments(cli)
    # another installation's publication, and a ConfigMap of that name the operator never labelled
    other_install = {"ironflow.io/published-by": "other-op"}
    core.create_namespaced_config_map(foreign, _configmap(SEALING_KEY, other_install))
    core.create_namespaced_config_map(hand, _configmap(SEALING_KEY, None, labelled=False))
    operator.stop()

    operator.namespaces = [namespace]
    operator.start()

    eventually(lambda: configmap_data(k8s_api, old, SEALING_KEY) is None, what=f"withdrawn from {old}")
    assert configmap_data(k8s_api, namespace, SEALING_KEY)
    assert configmap_data(k8s_api, foreign, SEALING_KEY) and configmap_data(k8s_api, hand, SEALING_KEY)
    assert f"withdrew {SEALING_KEY} from {old}" in operator.logs()
    keyed = _keyed_environments(cli)
    assert namespace in keyed and old not in keyed
