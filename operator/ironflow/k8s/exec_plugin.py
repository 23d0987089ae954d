"""Exec credential plugins (the ExecCredential protocol, v1 and v1beta1), run as kubectl runs them.

The default kubeconfigs of EKS, GKE, AKS with Entra, OIDC logins and Teleport name a command that
prints a credential: a bearer token or a client certificate and key, with an optional expiry.
The command runs as an asyncio subprocess (never blocking the event loop), with kubectl's
environment (ours, plus the entries the kubeconfig lists, plus KUBERNETES_EXEC_INFO), without a
terminal (the operator has none: `interactiveMode: Always` is refused), and under a timeout. An
error names the command and never carries what it printed on stdout (the credential).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ironflow.k8s.kubeconfig_files import KubeconfigError

API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 60.0  # seconds; a cloud plugin fetching a token over the network takes a few
CLUSTER_EXTENSION = "client.authentication.k8s.io/exec"


class ExecPluginError(KubeconfigError):
    """The plugin could not be run or printed no usable credential; names the command, never the output."""


@dataclass(frozen=True)
class ExecConfig:
    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    api_version: str
    cluster: dict[str, Any] | None  # KUBERNETES_EXEC_INFO's spec.cluster, when provideClusterInfo
    install_hint: str | None = None


@dataclass(frozen=True, repr=False, eq=False)
class ExecResult:
    token: str | None
    certificate: bytes | None
    key: bytes | None
    expires: datetime.datetime | None


def parse(spec: dict[str, Any], base: Path, where: str, cluster: dict[str, Any] | None) -> ExecConfig:
    """A kubeconfig user's `exec` section, checked as client-go checks it; `cluster` is the
    cluster's KUBERNETES_EXEC_INFO form, kept only when the user asks for it."""
    command, version = spec.get("command"), spec.get("apiVersion")
    if not isinstance(command, str) or not command:
        raise KubeconfigError(f"{where}: the exec section names no command")
    if version not in API_VERSIONS:
        raise KubeconfigError(f"{where}: exec apiVersion {version!r} is not supported "
                              f"(use {' or '.join(API_VERSIONS)})")
    mode = spec.get("interactiveMode") or ("" if version == API_VERSIONS[0] else "IfAvailable")
    if mode not in ("Never", "IfAvailable"):
        raise KubeconfigError(f"{where}: exec interactiveMode {mode or 'unset'!r} cannot be used by the "
                              "operator, which has no terminal (set Never or IfAvailable)")
    if "/" in command and not Path(command).is_absolute():  # kubectl: relative to the kubeconfig
        command = str(base / command)
    env = tuple((str(e.get("name")), str(e.get("value", ""))) for e in spec.get("env") or []
                if isinstance(e, dict) and e.get("name"))
    hint = spec.get("installHint")
    return ExecConfig(command=command, args=tuple(str(a) for a in spec.get("args") or []), env=env,
                      api_version=str(version), cluster=cluster if spec.get("provideClusterInfo") else None,
                      install_hint=str(hint).strip() if hint else None)


def cluster_info(cluster: dict[str, Any], ca: bytes | None) -> dict[str, Any]:
    """spec.cluster of KUBERNETES_EXEC_INFO: the cluster section, CA data inlined."""
    info: dict[str, Any] = {"server": cluster.get("server")}
    for key in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url", "disable-compression"):
        if cluster.get(key):
            info[key] = cluster[key]
    if ca:
        info["certificate-authority-data"] = base64.b64encode(ca).decode("ascii")
    for extension in cluster.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("name") == CLUSTER_EXTENSION:
            info["config"] = extension.get("extension")
    return info


async def run(config: ExecConfig, within: float = EXEC_TIMEOUT) -> ExecResult:
    name = config.command
    spec: dict[str, Any] = {"interactive": False}
    if config.cluster is not None:
        spec["cluster"] = config.cluster
    info = {"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec}
    env = {**os.environ, **dict(config.env), "KUBERNETES_EXEC_INFO": json.dumps(info)}
    try:
        process = await asyncio.create_subprocess_exec(
            config.command, *config.args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
    except OSError as exc:
        hint = f" ({config.install_hint})" if config.install_hint else ""
        raise ExecPluginError(f"exec plugin {name} cannot be started: {exc.strerror or type(exc).__name__}"
                              f"{hint}") from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ExecPluginError(f"exec plugin {name} did not finish within {within:g}s") from None
    if process.returncode != 0:
        last = " ".join(stderr.decode(errors="replace").split())[-200:]
        raise ExecPluginError(f"exec plugin {name} exited with {process.returncode}"
                              + (f": {last}" if last else ""))
    return _credential(stdout, config)


def _credential(stdout: bytes, config: ExecConfig) -> ExecResult:
    name = config.command
    try:
        document = json.loads(stdout)
    except ValueError:
        raise ExecPluginError(f"exec plugin {name} did not print JSON") from None
    if not isinstance(document, dict) or document.get("kind") != "ExecCredential":
        raise ExecPluginError(f"exec plugin {name} did not print an ExecCredential")
    if document.get("apiVersion") != config.api_version:
        printed = str(document.get("apiVersion"))[:80]
        raise ExecPluginError(f"exec plugin {name} printed apiVersion {printed!r}, "
                              f"the kubeconfig asked for {config.api_version}")
    status = document.get("status")
    status = status if isinstance(status, dict) else {}
    token, cert, key = status.get("token"), status.get("clientCertificateData"), status.get("clientKeyData")
    if bool(cert) != bool(key):
        raise ExecPluginError(f"exec plugin {name} printed a client certificate without its key, "
                              "or a key alone")
    if not token and not cert:
        raise ExecPluginError(f"exec plugin {name} printed neither a token nor a client certificate")
    return ExecResult(token=str(token) if token else None, certificate=str(cert).encode() if cert else None,
                      key=str(key).encode() if key else None, expires=_expiry(status, name))


def _expiry(status: dict[str, Any], name: str) -> datetime.datetime | None:
    stamp = status.get("expirationTimestamp")
    if not stamp:
        return None
    try:
        when = datetime.datetime.fromisoformat(str(stamp))
    except ValueError:
        raise ExecPluginError(f"exec plugin {name} printed an expirationTimestamp "
                              "that is not RFC 3339") from None
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)
