"""A replica is ready only when the configuration's caBundle holds the CA that signed what it serves."""

from __future__ import annotations

import asyncio
import base64
import types
from pathlib import Path
from typing import Any

from ironflow.core.ca_bundle import untrusted
from ironflow.webhook import trust as webhook_trust
from ironflow.webhook.certs import CertPaths, ensure_certificates

HOSTS = ("ironflow-webhook.ironflow-system.svc",)


def _pair(directory: Path) -> CertPaths:
    paths = CertPaths(directory)
    ensure_certificates(paths, HOSTS)
    return paths


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_given_bundle_of_the_serving_ca_when_checked_then_trusted(tmp_path: Path) -> None:
    paths = _pair(tmp_path / "a")
    bundles = {"declarations.pods.ironflow.io": _b64(paths.ca.read_bytes()),
               "enforcement.pods.ironflow.io": _b64(paths.ca.read_bytes())}
    assert untrusted(bundles, paths.cert.read_bytes()) is None


def test_given_reinstalled_configuration_when_served_pair_is_older_then_not_trusted(tmp_path: Path) -> None:
    kept, fresh = _pair(tmp_path / "kept"), _pair(tmp_path / "fresh")
    served = kept.cert.read_bytes()
    assert "has no caBundle yet" in str(untrusted({"declarations.pods.ironflow.io": None}, served))
    other = untrusted({"declarations.pods.ironflow.io": _b64(fresh.ca.read_bytes())}, served)
    assert other is not None and "does not hold the CA that signed the served certificate" in other
    # one webhook trusting it is not enough: the API server calls each with its own bundle
    mixed = {"a": _b64(kept.ca.read_bytes()), "b": _b64(fresh.ca.read_bytes())}
    assert untrusted(mixed, served) is not None
    rotated = {"a": _b64(fresh.ca.read_bytes() + kept.ca.read_bytes())}  # new CA first, old kept
    assert untrusted(rotated, served) is None


class _Kube:
    def __init__(self, body: dict[str, Any] | None) -> None:
        self.body = body

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        assert path.endswith("/mutatingwebhookconfigurations/ironflow-pod-declarations")
        return self.body


def _runtime(body: dict[str, Any] | None, leading: bool) -> Any:
    leadership = types.SimpleNamespace(is_leading=lambda: leading, report=types.SimpleNamespace(text=None))
    return types.SimpleNamespace(kube=_Kube(body), leadership=leadership, webhook_untrusted="not checked yet")


def test_given_configuration_when_replica_checks_then_problem_until_the_leader_trusts_its_ca(
    tmp_path: Path,
) -> None:
    paths = _pair(tmp_path / "p")
    name = "ironflow-pod-declarations"
    missing = asyncio.run(webhook_trust.problem(_runtime(None, False), name, paths.cert))
    assert missing is not None and "does not exist" in missing
    bare = {"webhooks": [{"name": "declarations.pods.ironflow.io", "clientConfig": {"service": {}}}]}
    standby = asyncio.run(webhook_trust.problem(_runtime(bare, False), name, paths.cert))
    assert standby is not None and "no caBundle" in standby and "the leader sets it" in standby
    trusted = {"webhooks": [{"name": "declarations.pods.ironflow.io",
                             "clientConfig": {"caBundle": _b64(paths.ca.read_bytes())}}]}
    assert asyncio.run(webhook_trust.problem(_runtime(trusted, False), name, paths.cert)) is None
