"""Running the installed product from outside a pod: the operator with the Deployment's own
arguments under the ServiceAccount's token, and the `ironflow` CLI as a user would.

There is no kubelet in the test control plane, so the Deployment never gets a running pod; the
operator runs as a local process instead, authenticated as the manifests' ServiceAccount, so the
RBAC that manifests/ installs is what the API server enforces on every call it makes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from operator_launch import OperatorProcess, clean_env, launch

from ironflow_testbed import access, kubeconfig
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.ports import free_ports
from ironflow_testbed.webhook_client import WEBHOOK_CLIENT_USER

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
CHART = ROOT / "charts" / "ironflow"
OPERATOR_NAMESPACE = "ironflow-system"
BIN = Path(sys.executable).parent
CLI = BIN / "ironflow"


def service_account_kubeconfig(cluster: Cluster, namespace: str, name: str, path: Path) -> Path:
    """A kubeconfig holding a TokenRequest token of an existing ServiceAccount (`kubectl create token`)."""
    token = cluster.kubectl("create", "token", name, "-n", namespace, "--duration=1h").stdout.strip()
    assert token.count(".") == 2, "kubectl create token did not print a JWT"
    server, ca = access.cluster_of(cluster.kubeconfig)
    config = kubeconfig.build(server, ca, user=f"{namespace}-{name}", token=token, namespace=namespace)
    return kubeconfig.write(path, config)


def container_args(deployment: Mapping[str, Any]) -> list[str]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    operator = next(c for c in containers if c["name"] == "operator")
    return [str(a) for a in operator["args"]]


def container_env(deployment: Mapping[str, Any]) -> dict[str, str]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    operator = next(c for c in containers if c["name"] == "operator")
    # the downward API's values (pod name, uid) exist only in a pod: a local run has none
    return {e["name"]: str(e["value"]) for e in operator.get("env") or [] if "value" in e}


def local_args(deployment_args: list[str], replace: Mapping[str, str | None], add: list[str]) -> list[str]:
    """The Deployment's `--flag[=value]` arguments with some replaced (None drops one), plus more."""
    out: list[str] = []
    for arg in deployment_args:
        flag = arg.split("=", 1)[0]
        if flag in replace:
            new = replace[flag]
            if new is not None:
                out.append(new)
        else:
            out.append(arg)
    return out + add


# The CLI pins the operator's signing key per cluster in $XDG_CONFIG_HOME/ironflow: a private
# directory per test run, so nothing lands in the developer's own ~/.config.
_CLI_CONFIG = tempfile.mkdtemp(prefix="ironflow-e2e-config-")


def ironflow(kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real `ironflow` console script, as a user runs it (admin kubeconfig named explicitly)."""
    return subprocess.run(
        [str(CLI), "--kubeconfig", str(kubeconfig), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env({"XDG_CONFIG_HOME": _CLI_CONFIG}),
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{' '.join(map(str, result.args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def _client_auth(cluster: Cluster) -> list[str]:
    """Mutual TLS with the session's API server (ironflow_testbed/webhook_client.py); none for
    --kubeconfig."""
    if cluster.plane is None:
        return []
    return [
        f"--webhook-client-ca={cluster.plane.layout.cert('ca')}",
        f"--webhook-client-name={WEBHOOK_CLIENT_USER}",
    ]


def start_as_deployed(
    cluster: Cluster, namespace: str, workdir: Path, webhook_url: str | None = None
) -> OperatorProcess:
    """The installed Deployment's operator, run locally: its arguments and environment, except
    the ServiceAccount's token for --in-cluster, free loopback ports, debug logs (so the canary
    checks cover every level) and, instead of the Service and the mounted certificate, the
    webhook by URL (or none), requiring the session API server's webhook client certificate."""
    deployment = json.loads(
        cluster.kubectl("get", "deployment/ironflow-operator", "-n", namespace, "-o", "json").stdout
    )
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    token_config = service_account_kubeconfig(cluster, namespace, account, workdir / "sa.kubeconfig")
    args = container_args(deployment)
    flags = (
        "--in-cluster",
        "--health-port",
        "--metrics-port",
        "--log-level",
        "--webhook-cert-dir",
        "--webhook-port",
    )
    for flag in flags:
        assert any(a.split("=")[0] == flag for a in args), f"the Deployment no longer passes {flag}: {args}"
    assert "--webhook-cert-dir=/etc/ironflow/webhook-tls" in args
    health, metrics = free_ports(2)
    argv = local_args(
        args,
        replace={
            "--in-cluster": f"--kubeconfig={token_config}",
            "--health-port": f"--health-port={health}",
            "--metrics-port": f"--metrics-port={metrics}",
            "--log-level": "--log-level=debug",
            "--webhook-cert-dir": f"--webhook-url={webhook_url}" if webhook_url else None,
            "--webhook-port": None,
            # self-managed certificates serve the Service's names from a Secret: not for a URL
            "--webhook-cert-secret": None,
            "--webhook-san": None,
        },
        add=["--bind-address=127.0.0.1", *(_client_auth(cluster) if webhook_url else [])],
    )
    run = launch(argv, workdir / "operator.log", health, metrics, container_env(deployment))
    try:
        run.wait_ready(timeout=90, what="operator /readyz under the ServiceAccount token")
    except BaseException:
        run.stop()
        raise
    return run


def refused_calls(cluster: Cluster, user: str) -> list[tuple[str, str, str, str, str]]:
    """Requests of `user` that authorization (RBAC) refused, from the audit log (own control plane).

    The audit annotation, not the status code: a 403 also answers a write into a namespace being
    deleted (an earlier test's), which is admission, not a missing permission.
    """
    assert cluster.audit is not None, "the RBAC proof needs the session's own control plane (audit log)"
    decisions = [(e, (e.raw.get("annotations") or {}).get("authorization.k8s.io/decision")) for e in
                 cluster.audit.events(user=user)]  # fmt: skip
    assert any(decision == "allow" for _, decision in decisions), f"no authorised request by {user} audited"
    return [
        (e.verb, e.resource, e.subresource, e.namespace, e.name)
        for e, decision in decisions
        if decision == "forbid"
    ]
