"""Where the operator's API server is and how to prove who we are, from an explicit ClusterChoice.

Why our own resolver instead of kubernetes_asyncio's: importing that client loads every generated
model (about 60 MB of RSS per replica, before a single resource is watched), and the operator
needs only a server URL, a CA, a proxy, and a way to get a credential. So this module reads the
kubeconfig file(s) with PyYAML (merged as kubectl merges them, k8s/kubeconfig_files.py; the named
context, or current-context) or the in-cluster service account (only when the choice says
in-cluster), and nothing else. The credential itself (a token file, an exec plugin) is fetched
and cached by k8s/credentials.py. `auth-provider` users are refused with one line naming the exec
plugin that replaced their provider (kubectl itself no longer runs the cloud providers).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ironflow.k8s import exec_plugin
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.exec_plugin import ExecConfig
from ironflow.k8s.kubeconfig_files import KubeconfigError, merge

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
AUTH_PROVIDER_PLUGINS = {
    "gcp": "gke-gcloud-auth-plugin",
    "azure": "kubelogin (github.com/Azure/kubelogin)",
    "oidc": "kubectl oidc-login (github.com/int128/kubelogin)",
}
__all__ = ["Endpoint", "KubeconfigError", "resolve"]


@dataclass(frozen=True)
class Endpoint:
    """One API server and how to reach it and authenticate; PEM data or a file path per item."""

    server: str
    ca_path: str | None = None
    ca_data: bytes | None = None
    certificate_path: str | None = None
    certificate_data: bytes | None = None
    private_key_path: str | None = None
    private_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    exec: ExecConfig | None = None

    def __repr__(self) -> str:  # never a key or token in a traceback or log line
        return f"Endpoint(server={self.server!r})"


def resolve(choice: ClusterChoice, environ: dict[str, str] | None = None,
            service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> Endpoint:
    if choice.in_cluster:
        return _in_cluster(dict(os.environ) if environ is None else environ, service_account_dir)
    return _from_kubeconfig(choice.kubeconfig_files, choice.context)


def _in_cluster(environ: dict[str, str], sa_dir: Path) -> Endpoint:
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise KubeconfigError("--in-cluster: KUBERNETES_SERVICE_HOST/PORT are not set (not in a pod?)")
    token = sa_dir / "token"
    if not token.is_file():
        raise KubeconfigError(f"--in-cluster: no service-account token at {token}")
    host = f"[{host}]" if ":" in host else host
    ca = sa_dir / "ca.crt"
    return Endpoint(server=f"https://{host}:{port}", ca_path=str(ca) if ca.is_file() else None,
                    token_file=str(token))


def _from_kubeconfig(files: tuple[str, ...], context: str | None) -> Endpoint:
    merged = merge(files)
    name = context or merged.current_context
    if not name:
        raise KubeconfigError(f"{merged.where}: no context named and no current-context")
    ctx = merged.named("contexts", str(name)).body
    cluster_entry = merged.named("clusters", str(ctx.get("cluster")))
    cluster, cbase = cluster_entry.body, cluster_entry.base
    user_entry = merged.named("users", str(ctx.get("user"))) if ctx.get("user") else None
    user, ubase = (user_entry.body, user_entry.base) if user_entry else ({}, cbase)
    where = f"{merged.where}, context {name}"
    provider = user.get("auth-provider")
    if provider:
        kind = str(provider.get("name", "")) if isinstance(provider, dict) else ""
        plugin = AUTH_PROVIDER_PLUGINS.get(kind, "that provider's exec credential plugin")
        raise KubeconfigError(f"{where}: auth-provider {kind or '?'} is no longer supported (kubectl removed "
                              f"it too); use an exec user with {plugin} instead")
    if not cluster.get("server"):
        raise KubeconfigError(f"{where}: the cluster has no server")
    ca_path, ca_data = _item(cluster, "certificate-authority", cbase)
    cert_path, cert_data = _item(user, "client-certificate", ubase)
    key_path, key_data = _item(user, "client-key", ubase)
    token_file = user.get("tokenFile")
    spec = user.get("exec")
    exec_config = None
    if spec:
        if not isinstance(spec, dict):
            raise KubeconfigError(f"{where}: the exec section is not a mapping")
        ca = ca_data if ca_data is not None or ca_path is None else _read(ca_path, where)
        exec_config = exec_plugin.parse(spec, ubase, where, exec_plugin.cluster_info(cluster, ca))
    return Endpoint(
        server=str(cluster["server"]).rstrip("/"), ca_path=ca_path, ca_data=ca_data,
        certificate_path=cert_path, certificate_data=cert_data, private_key_path=key_path,
        private_key_data=key_data, token=user.get("token") or None,
        token_file=str(ubase / str(token_file)) if token_file else None,
        username=user.get("username") or None, password=user.get("password") or None,
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name") or None,
        proxy_url=_proxy(cluster.get("proxy-url"), where), exec=exec_config,
    )


def _proxy(url: Any, where: str) -> str | None:
    if not url:
        return None
    if urlsplit(str(url)).scheme not in ("http", "https"):
        raise KubeconfigError(f"{where}: proxy-url must be an http:// or https:// proxy "
                              "(the operator does not speak SOCKS)")
    return str(url)


def _read(path: str, where: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KubeconfigError(f"{where}: cannot read {path}: {type(exc).__name__}") from None


def _item(section: dict[str, Any], key: str, base: Path) -> tuple[str | None, bytes | None]:
    """`key-data` (base64 PEM) wins over `key` (a path, relative to the kubeconfig), as in kubectl."""
    data = section.get(f"{key}-data")
    if data:
        try:
            return None, base64.b64decode(str(data), validate=True)
        except ValueError:
            raise KubeconfigError(f"kubeconfig: {key}-data is not base64") from None
    path = section.get(key)
    return (str(base / str(path)) if path else None), None
