"""The attacks on the pod webhook that docs/security.md defends against, replayed over real TLS
against a running operator.

The operator serves a glob (`<ns>*`), as a cluster-wide install does, so a namespace string that
merely starts like a served one is not stopped by the served-namespace check: what stops each
attack here is the defence under test. Callers reach the webhook directly, the way a network
neighbour would: without a client certificate, with one from another CA, with a tenant's
certificate from the cluster CA, and, to prove the request checks behind mutual TLS, with the API
server's own webhook client certificate (as if it had been stolen).
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from kubernetes import client
from operator_fixtures import (
    Operator,
    OperatorProcess,
    events_for,
    new_key,
    sealed,
    secret_data,
    wait_ready,
)
from webhook_fixtures import create_resource, pod_manifest, serving_webhook

from ironflow.webhook.configuration import CONFIGURATION_NAME, MUTATE_PATH
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.pki import CertificateAuthority, KeyPair

pytest_plugins = ["operator_fixtures", "webhook_fixtures"]

FORGED = "FORGED-LINE ironflow.webhook: admitted pod kube-system/evil"
CANARY = "canary-attack-value-9d2e"  # a value the pod author wrote: never in a log or an answer
Answer = tuple[int, dict[str, Any]] | None


@pytest.fixture
def attacked(
    cluster: Cluster,
    operator: Operator,
    k8s_api: client.ApiClient,
    namespace: str,
    webhook_cluster_role: str,
    tmp_path: Path,
) -> Iterator[tuple[OperatorProcess, str]]:
    """The operator serving `<namespace>*` with a master key; an IronflowSecret and an IronflowConfig
    both named `app` (allowed: two kinds), each projected."""
    if cluster.plane is None:
        pytest.skip("needs the session's own API server, configured to present a webhook client certificate")
    key = new_key()
    operator.set_master_key(key)
    operator.namespaces[:] = [f"{namespace}*"]
    with serving_webhook(operator, k8s_api, namespace, webhook_cluster_role, tmp_path) as run:
        create_resource(k8s_api, namespace, "IronflowConfig", "app", {"OTHER": 1})
        create_resource(
            k8s_api, namespace, "IronflowSecret", "app", {"SHARED": sealed(key, namespace, "SHARED", "v1")}
        )
        wait_ready(k8s_api, "IronflowConfig", namespace, "app")
        wait_ready(k8s_api, "IronflowSecret", namespace, "app")
        yield run, key


def _endpoint(api: client.ApiClient) -> tuple[str, int, bytes]:
    config = client.AdmissionregistrationV1Api(api).read_mutating_webhook_configuration(CONFIGURATION_NAME)
    hook = config.webhooks[0].client_config
    url = urlparse(hook.url)
    bundle = hook.ca_bundle
    ca = base64.b64decode(bundle) if isinstance(bundle, str) else bundle
    return str(url.hostname), int(url.port or 443), ca


def _review(namespace: str, name: str = "p", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    container = {"name": "app", "image": "registry.invalid/app:1", "env": [{"name": "MINE", "value": CANARY}]}
    pod = pod_manifest(name, annotations or {"ironflow.io/secrets": "SHARED"}, containers=[container])
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": str(uuid.uuid4()), "namespace": namespace, "object": pod, "operation": "CREATE"},
    }


def _call(api: client.ApiClient, pair: KeyPair | None, review: dict[str, Any], workdir: Path) -> Answer:
    """The HTTP status and answer, or None when the TLS layer refused the caller."""
    host, port, bundle = _endpoint(api)
    context = ssl.create_default_context(cadata=bundle.decode())
    if pair is not None:
        cert, key = pair.write(workdir, f"caller-{uuid.uuid4().hex[:6]}")
        context.load_cert_chain(cert, key)
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    try:
        connection.request("POST", MUTATE_PATH, json.dumps(review), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        return None
    finally:
        connection.close()


def _api_server_pair(cluster: Cluster) -> KeyPair:
    assert cluster.plane is not None
    pki = cluster.plane.layout.pki
    return KeyPair((pki / "webhook-client.crt").read_bytes(), (pki / "webhook-client.key").read_bytes())


def _cluster_ca(cluster: Cluster) -> CertificateAuthority:
    assert cluster.plane is not None
    return CertificateAuthority.load(
        cluster.plane.layout.cert("ca").read_bytes(), cluster.plane.layout.key("ca").read_bytes()
    )


def test_given_callers_other_than_the_api_server_when_they_ask_about_an_environment_then_learn_nothing(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, attacked: tuple[OperatorProcess, str],
    tmp_path: Path,
) -> None:
    # The API server's own calls succeed: a declaring pod is injected from the secret.
    created = client.CoreV1Api(k8s_api).create_namespaced_pod(
        namespace, pod_manifest("real", {"ironflow.io/secrets": "SHARED"})
    )
    assert "ironflow.io/injected" in (created.metadata.annotations or {})

    discovery = _review(namespace, annotations={"ironflow.io/secrets": "SHARED, GUESS?"})
    assert _call(k8s_api, None, discovery, tmp_path) is None
    stranger = CertificateAuthority.create("stranger").issue_client("kube-apiserver-webhook-client")
    assert _call(k8s_api, stranger, discovery, tmp_path) is None
    tenant = _cluster_ca(cluster).issue_client("alice", ("tenants",))
    answer = _call(k8s_api, tenant, discovery, tmp_path)
    assert answer is not None and answer[0] == 403
    assert "SHARED" not in json.dumps(answer[1]) and "sec" not in json.dumps(answer[1]["response"])


@pytest.mark.parametrize(
    "hostile",
    [
        "{ns}/../../../api/v1/namespaces/{opns}/secrets/ironflow-master-key",
        "{ns}/ironflowconfigs?",
        "{ns}\n" + FORGED,
    ],
    ids=["traversal", "query", "newline"],
)
def test_given_the_api_servers_certificate_when_namespace_is_hostile_then_refused_before_any_read(
    hostile: str,
    cluster: Cluster,
    k8s_api: client.ApiClient,
    namespace: str,
    operator: Operator,
    attacked: tuple[OperatorProcess, str],
    tmp_path: Path,
) -> None:
    run, _ = attacked
    bad = hostile.format(ns=namespace, opns=operator.operator_namespace)
    answer = _call(k8s_api, _api_server_pair(cluster), _review(bad), tmp_path)
    assert answer is not None and answer[0] == 200
    response = answer[1]["response"]
    assert response["allowed"] is False and response["status"]["code"] == 400
    assert "request.namespace" in response["status"]["message"]

    # Cache poisoning: `<ns>/ironflowconfigs?` once made the IronflowSecret listing list the
    # IronflowConfigs, filing config `app` as IronflowSecret `app` in the operator's cache. A
    # reconcile from the cache (here: drift repair of the projected Secret) must still see the
    # real IronflowSecret: the Secret is repaired and nothing posts a Warning.
    core = client.CoreV1Api(k8s_api)
    tampered = base64.b64encode(b"tampered").decode()
    core.patch_namespaced_secret("app", namespace, {"data": {"SHARED": tampered}})
    eventually(
        lambda: (secret_data(k8s_api, namespace, "app") or {}).get("SHARED") == "v1",
        timeout=30,
        what="the operator to repair the tampered Secret from the real IronflowSecret",
    )
    events = events_for(k8s_api, namespace, "app")
    assert [f"{e.reason}: {e.message}" for e in events if e.type == "Warning"] == []
    lines = run.output().splitlines()
    assert not any(line.startswith("FORGED-LINE") for line in lines)
    assert any("refused a malformed admission review" in line for line in lines)
    assert CANARY not in run.output() and CANARY not in json.dumps(answer)


def test_given_newlines_in_pod_name_and_annotation_when_reviewed_then_no_forged_log_line(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, attacked: tuple[OperatorProcess, str],
    tmp_path: Path,
) -> None:
    run, _ = attacked
    pair = _api_server_pair(cluster)
    by_name = _call(k8s_api, pair, _review(namespace, name="p\n" + FORGED), tmp_path)
    declaring = {"ironflow.io/secrets": "A\n" + FORGED}
    by_annotation = _call(k8s_api, pair, _review(namespace, annotations=declaring), tmp_path)
    assert by_name is not None and by_name[1]["response"]["status"]["code"] == 400
    assert by_annotation is not None and by_annotation[1]["response"]["allowed"] is False
    lines = run.output().splitlines()
    assert not any(line.startswith("FORGED-LINE") for line in lines)
    assert any("\\nFORGED-LINE" in line for line in lines)  # logged, escaped, on the refusing line
    assert CANARY not in run.output() and CANARY not in json.dumps([by_name, by_annotation])
