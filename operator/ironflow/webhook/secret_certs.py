"""Self-managed webhook certificates for in-cluster installs: a CA and serving pair in a Secret.

The chart's default (no cert-manager, no provided certificate): the operator is the webhook's CA.
The leader alone writes (the write gate in `k8s/async_client.py` refuses a standby's writes): it
makes or renews the CA and the serving certificate (`certs.ensure_certificates`, the same
rotation rules as `make run`: renew at two thirds of the life, keep the previous CA in the bundle
while it is valid), stores all four files in Secret `--webhook-cert-secret` in the operator
namespace, and sets the `caBundle` of every webhook in the configuration. Every replica, leader
or not, serves the pair from that Secret: it copies `tls.crt`, `tls.key` and `ca.crt` (never the
CA key) into its serving directory, where the server sees provided files and reloads them when
they change. So replicas serve one certificate and a new leader continues the same CA.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ironflow.k8s.async_client import Kube
from ironflow.k8s.core_objects import create_object, get_object, patch_object
from ironflow.k8s.webhook_configs import get_webhook_configuration, patch_webhook_configuration
from ironflow.webhook.certs import PRIVATE, PUBLIC, CertPaths, ensure_certificates, write_file

log = logging.getLogger("ironflow.webhook")
SERVED: Final = ("tls.crt", "tls.key", "ca.crt")  # what every replica copies: never ca.key
STORED: Final = (*SERVED, "ca.key")


@dataclass(frozen=True)
class SecretCerts:
    """Where the pair lives (Secret, namespace), whom it names, and which configuration trusts it."""

    namespace: str
    secret: str
    configuration: str
    hosts: Sequence[str]

    async def read(self, kube: Kube) -> dict[str, bytes] | None:
        body = await get_object(kube, "secrets", self.namespace, self.secret)
        if body is None:
            return None
        return {k: base64.b64decode(v) for k, v in (body.get("data") or {}).items() if k in STORED}

    async def ensure(self, kube: Kube, work: Path) -> bytes:
        """Leader only: make or renew the pair in the Secret; returns the CA bundle to trust."""
        current = await self.read(kube)
        paths = CertPaths(work)
        await asyncio.to_thread(_materialize, work, current or {}, STORED)
        changed = await asyncio.to_thread(ensure_certificates, paths, self.hosts)
        files = {name: (work / name).read_bytes() for name in STORED}
        if current is None:
            await create_object(kube, "secrets", self.namespace, self._body(files))
            log.info("created webhook certificate Secret %s/%s", self.namespace, self.secret)
        elif changed or current != files:
            await patch_object(kube, "secrets", self.namespace, self.secret, {"data": _encoded(files)})
            log.info("renewed webhook certificate in Secret %s/%s", self.namespace, self.secret)
        return files["ca.crt"]

    async def trust(self, kube: Kube, ca_bundle: bytes) -> bool:
        """Leader only: every webhook of the configuration trusts `ca_bundle`; True when it patched."""
        current = await get_webhook_configuration(kube, self.configuration)
        if current is None:
            return False  # not installed (yet): the chart creates it; the next round patches it
        wanted = base64.b64encode(ca_bundle).decode()
        webhooks: list[dict[str, Any]] = current.get("webhooks") or []
        if all((w.get("clientConfig") or {}).get("caBundle") == wanted for w in webhooks):
            return False
        patched = [
            {**w, "clientConfig": {**(w.get("clientConfig") or {}), "caBundle": wanted}} for w in webhooks
        ]
        version = (current.get("metadata") or {}).get("resourceVersion")
        await patch_webhook_configuration(kube, self.configuration,
                                          {"metadata": {"resourceVersion": version}, "webhooks": patched})
        log.info("webhook configuration %s now trusts the operator's CA", self.configuration)
        return True

    async def serve_from_secret(self, kube: Kube, serving: Path) -> bool:
        """Every replica: copy the served files into `serving`; False while the Secret has none."""
        current = await self.read(kube)
        if current is None or not all(current.get(name) for name in SERVED):
            return False
        await asyncio.to_thread(_materialize, serving, current, SERVED)
        return True

    def _body(self, files: Mapping[str, bytes]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.secret,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "ironflow-operator"},
            },
            "data": _encoded(files),
        }


def _encoded(files: Mapping[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode() for name, data in files.items()}


def _materialize(directory: Path, files: Mapping[str, bytes], names: Sequence[str]) -> None:
    """Write `names` from `files` into `directory` (0700), only those that differ; drop the rest."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in names:
        target = directory / name
        data = files.get(name)
        if data is None:
            target.unlink(missing_ok=True)
        elif not target.is_file() or target.read_bytes() != data:
            write_file(target, data, PRIVATE if name.endswith(".key") else PUBLIC)
