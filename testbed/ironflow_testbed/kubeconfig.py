"""Self-contained kubeconfig files (credentials embedded, so a file can be copied and used as is)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from ironflow_testbed.pki import write_private


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build(
    server: str,
    ca_pem: bytes,
    *,
    user: str,
    cert_pem: bytes | None = None,
    key_pem: bytes | None = None,
    token: str | None = None,
    cluster: str = "ironflow-envtest",
    namespace: str | None = None,
) -> dict[str, Any]:
    """A kubeconfig with one cluster, one user and one current context."""
    credentials: dict[str, str] = {}
    if cert_pem is not None and key_pem is not None:
        credentials = {"client-certificate-data": _b64(cert_pem), "client-key-data": _b64(key_pem)}
    elif token is not None:
        credentials = {"token": token}
    else:
        raise ValueError("a kubeconfig user needs a client certificate and key, or a token")
    context: dict[str, str] = {"cluster": cluster, "user": user}
    if namespace:
        context["namespace"] = namespace
    context_name = f"{user}@{cluster}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": context_name, "context": context}],
        "current-context": context_name,
        "preferences": {},
    }


def write(path: Path, config: dict[str, Any]) -> Path:
    """Write with owner-only permissions: the file holds a private key or a token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, yaml.safe_dump(config, sort_keys=False).encode())
    return path
