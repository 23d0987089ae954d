"""The operator with the kubeconfigs users have: exec credential plugins, tls-server-name, proxy-url.

Each test runs the real operator process against the session's API server, with a kubeconfig
whose user is a real exec plugin (tests/integration/kubeconfig_support.py) handing out
ServiceAccount tokens minted by the TokenRequest API or client certificates of the session's CA.
kopf's watches must work too: a CR is only ever projected after kopf's watch has seen it, and
the audit log tells kopf's requests (user agent kopf/...) and the credential each one carried.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from kubeconfig_support import ExecPlugin, credential_id, jti, mint_token
from kubernetes import client
from operator_fixtures import Operator, apply_cr, configmap_data, new_key

from ironflow_testbed import access, eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.ports import free_ports
from ironflow_testbed.proxy import ConnectProxy

pytest_plugins = ["operator_fixtures"]
CONFIG = "IronflowConfig"
SA = "ironflow-operator"  # the operator fixture's ServiceAccount, bound to the operator's ClusterRole


@pytest.fixture
def served(k8s_api: client.ApiClient, namespace: str) -> Iterator[list[str]]:
    """Namespaces the test creates as `<namespace>-sN`; deleted afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        client.CoreV1Api(k8s_api).delete_namespace(name, propagation_policy="Background")


def _new_served(api: client.ApiClient, prefix: str, made: list[str]) -> str:
    name = f"{prefix}-s{len(made)}"
    labels = {"ironflow.io/test": "true"}
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name, "labels": labels}})
    made.append(name)
    return name


def _projects(api: client.ApiClient, namespace: str, value: int) -> None:
    apply_cr(api, CONFIG, namespace, "app", {"VALUE": value})
    eventually(lambda: configmap_data(api, namespace, "app") == {"VALUE": str(value)}, timeout=30,
               what=f"ConfigMap {namespace}/app projected with VALUE={value}")


def test_given_an_exec_plugin_with_short_lived_tokens_when_the_operator_runs_then_it_reruns_and_kopf_follows(
    operator: Operator, cluster: Cluster, k8s_api: client.ApiClient, namespace: str, served: list[str],
    tmp_path: Path,
) -> None:
    tokens = [mint_token(k8s_api, operator.operator_namespace, SA) for _ in range(4)]
    plugin = ExecPlugin(tmp_path / "plugin", [{"token": t} for t in tokens])
    operator.kubeconfig = plugin.kubeconfig(cluster.kubeconfig, lifetime=4)
    # Plain names, the second not created yet: kopf watches each named namespace on its own, so the
    # second one's watch is a new request of kopf's (with globs kopf keeps one cluster-wide watch).
    operator.namespaces = [f"{namespace}-s0", f"{namespace}-s1"]
    operator.set_master_key(new_key())
    first = _new_served(k8s_api, namespace, served)
    operator.start()
    _projects(k8s_api, first, 1)
    eventually(lambda: len(plugin.runs()) >= 4, timeout=40, what="the plugin run again as each token lapses")
    # A namespace that appears now is watched by kopf with a new request, made with a later token.
    second = _new_served(k8s_api, namespace, served)
    _projects(k8s_api, second, 2)
    _projects(k8s_api, first, 3)
    server = urlsplit(access.cluster_of(cluster.kubeconfig)[0])
    run = plugin.runs()[0]
    assert run["info"]["spec"]["interactive"] is False and run["stdin_tty"] is False
    assert urlsplit(run["info"]["spec"]["cluster"]["server"]).port == server.port
    assert "certificate-authority-data" in run["info"]["spec"]["cluster"]
    if cluster.audit is not None:
        later = {jti(t) for t in tokens[1:]}
        kopf_later = [e for e in cluster.audit.events(user=operator.user)
                      if str(e.raw.get("userAgent", "")).startswith("kopf/")
                      and credential_id(e.raw) in later]
        assert kopf_later, "no request of kopf's carried a refreshed token"
    logs = operator.logs()
    assert not [t for t in tokens if t in logs], "a token reached the operator's log"
    assert "exec plugin" not in logs  # no failed run


def test_given_a_plugin_whose_first_token_is_refused_when_the_operator_starts_then_one_rerun_serves(
    operator: Operator, cluster: Cluster, k8s_api: client.ApiClient, namespace: str, tmp_path: Path,
) -> None:
    token = mint_token(k8s_api, operator.operator_namespace, SA)
    plugin = ExecPlugin(tmp_path / "plugin", [{"token": "not-a-valid-token"}, {"token": token}])
    operator.kubeconfig = plugin.kubeconfig(cluster.kubeconfig, lifetime=None)
    operator.set_master_key(new_key())
    operator.start()
    _projects(k8s_api, namespace, 1)
    # the refused token is dropped at its first 401 (ours or kopf's, whichever came first) and the
    # plugin run once more; the good token, stating no expiry, is then kept: two runs in all
    assert len(plugin.runs()) == 2


def test_given_an_exec_plugin_with_client_certificates_when_they_lapse_then_both_clients_change_certificate(
    operator: Operator, cluster: Cluster, k8s_api: client.ApiClient, namespace: str, served: list[str],
    tmp_path: Path,
) -> None:
    """Run 1 of the plugin gives the certificate of user 0, every later run that of user 1: the
    audit log then tells which certificate each request of each client presented."""
    if not cluster.owned:
        pytest.skip("client certificates need the session's own CA (--kubeconfig clusters lack it)")
    users = [f"ironflow-exec-{uuid.uuid4().hex[:8]}-{i}" for i in range(2)]
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    group = "rbac.authorization.k8s.io"
    pairs = []
    for user in users:
        rbac.create_cluster_role_binding({
            "metadata": {"name": user},
            "roleRef": {"apiGroup": group, "kind": "ClusterRole", "name": "ironflow-operator-test"},
            "subjects": [{"kind": "User", "name": user, "apiGroup": group}]})
        entry = _user_of(cluster.user_kubeconfig(tmp_path / f"{user}.kubeconfig", user))
        pem = {k: base64.b64decode(entry[k]).decode() for k in ("client-certificate-data", "client-key-data")}
        pairs.append({"clientCertificateData": pem["client-certificate-data"],
                      "clientKeyData": pem["client-key-data"]})
    try:
        plugin = ExecPlugin(tmp_path / "plugin", pairs)
        operator.kubeconfig = plugin.kubeconfig(cluster.kubeconfig, lifetime=5)
        operator.namespaces = [f"{namespace}-s0", f"{namespace}-s1"]  # see the test above: kopf's new watch
        operator.set_master_key(new_key())
        first = _new_served(k8s_api, namespace, served)
        operator.start()
        _projects(k8s_api, first, 1)
        eventually(lambda: len(plugin.runs()) >= 2, timeout=40,
                   what="the plugin run again as the certificate lapses")
        second = _new_served(k8s_api, namespace, served)  # kopf's new watch: a new login, a new certificate
        _projects(k8s_api, second, 2)
        _projects(k8s_api, first, 3)
        assert cluster.audit is not None
        agents = {str(e.raw.get("userAgent", "")).split("/")[0] for e in cluster.audit.events(user=users[1])}
        assert {"kopf", "ironflow-operator"} <= agents
    finally:
        operator.stop()
        for user in users:
            rbac.delete_cluster_role_binding(user)


def _user_of(path: Path) -> dict[str, str]:
    return dict(yaml.safe_load(path.read_text())["users"][0]["user"])


def test_given_tls_server_name_and_a_proxy_url_when_the_operator_runs_then_every_connection_uses_both(
    operator: Operator, cluster: Cluster, k8s_api: client.ApiClient, namespace: str, tmp_path: Path,
) -> None:
    """The server address is one nothing listens on and the certificate does not name: only through
    the proxy (which routes it to the API server) and under tls-server-name can anything connect."""
    token = mint_token(k8s_api, operator.operator_namespace, SA)
    real = urlsplit(access.cluster_of(cluster.kubeconfig)[0])
    [unused] = free_ports(1)
    proxy = ConnectProxy(routes={f"127.0.0.2:{unused}": ("127.0.0.1", int(real.port or 443))})
    plugin = ExecPlugin(tmp_path / "plugin", [{"token": token}])
    with proxy.running():
        operator.kubeconfig = plugin.kubeconfig(cluster.kubeconfig, lifetime=None,
                                                server=f"https://127.0.0.2:{unused}",
                                                **{"tls-server-name": "kubernetes.default.svc",
                                                   "proxy-url": proxy.url})
        operator.set_master_key(new_key())
        operator.start()
        _projects(k8s_api, namespace, 1)
        assert set(proxy.tunnels) == {f"127.0.0.2:{unused}"} and len(proxy.tunnels) >= 2
        assert proxy.refused == []
