"""Where the operator's API server is and how to prove who we are, from an explicit ClusterChoice.

Why our own resolver instead of kubernetes_asyncio's: importing that client loads every generated
model (about 60 MB of RSS per replica, before a single resource is watched), and the operator
needs only a server URL, a CA, a client certificate or a bearer token. So this module reads a
kubeconfig with PyYAML (the named context, or current-context) or the in-cluster service account
(only when the choice says in-cluster), and nothing else. Relative paths resolve against the
kubeconfig's own directory, as kubectl does. The service-account token is re-read on every use
(the kubelet rotates it). `exec` and `auth-provider` users are refused with one line naming the
context: the CLI still supports them through the official sync client.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ironflow.k8s.config import ClusterChoice

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeconfigError(RuntimeError):
    """The named kubeconfig cannot be used by the operator; the message names the file or context."""


@dataclass(frozen=True)
class Endpoint:
    """One API server and our credentials for it; PEM data or a file path per item, never both."""

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

    def bearer_token(self) -> str | None:
        """The token file is read on each call (rotation); a fixed token otherwise."""
        if self.token_file:
            return Path(self.token_file).read_text().strip() or None
        return self.token

    def __repr__(self) -> str:  # never a key or token in a traceback or log line
        return f"Endpoint(server={self.server!r})"


def resolve(choice: ClusterChoice, environ: dict[str, str] | None = None,
            service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> Endpoint:
    if choice.in_cluster:
        return _in_cluster(dict(os.environ) if environ is None else environ, service_account_dir)
    assert choice.kubeconfig is not None
    return _from_kubeconfig(Path(choice.kubeconfig), choice.context)


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


def _named(items: Any, name: str, what: str, path: Path) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name and isinstance(item.get(what), dict):
            return dict(item[what])
    raise KubeconfigError(f"kubeconfig {path}: no {what} named {name!r}")


def _load(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"kubeconfig {path} cannot be read: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig")
    return document


def _from_kubeconfig(path: Path, context: str | None) -> Endpoint:
    document = _load(path)
    name = context or document.get("current-context")
    if not name:
        raise KubeconfigError(f"kubeconfig {path}: no context named and no current-context")
    ctx = _named(document.get("contexts"), str(name), "context", path)
    cluster = _named(document.get("clusters"), str(ctx.get("cluster")), "cluster", path)
    user = _named(document.get("users"), str(ctx.get("user")), "user", path) if ctx.get("user") else {}
    for plugin in ("exec", "auth-provider"):
        if user.get(plugin):
            raise KubeconfigError(f"kubeconfig {path}, context {name}: the operator does not run {plugin} "
                                  "credential plugins; use a token, tokenFile or client certificate")
    if not cluster.get("server"):
        raise KubeconfigError(f"kubeconfig {path}, context {name}: the cluster has no server")
    base = path.parent
    ca_path, ca_data = _item(cluster, "certificate-authority", base)
    cert_path, cert_data = _item(user, "client-certificate", base)
    key_path, key_data = _item(user, "client-key", base)
    token_file = user.get("tokenFile")
    return Endpoint(
        server=str(cluster["server"]).rstrip("/"), ca_path=ca_path, ca_data=ca_data,
        certificate_path=cert_path, certificate_data=cert_data, private_key_path=key_path,
        private_key_data=key_data, token=user.get("token") or None,
        token_file=str(base / str(token_file)) if token_file else None,
        username=user.get("username") or None, password=user.get("password") or None,
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name") or None,
    )


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
