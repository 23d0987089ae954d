"""Self-managed webhook certificates: the leader keeps the pair in a Secret, every replica serves it."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from cryptography import x509

from ironflow.webhook.secret_certs import SecretCerts

SECRET_PATH = "/api/v1/namespaces/ops/secrets/ironflow-webhook-tls"
CONFIG_PATH = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/ironflow-pod-declarations"
HOSTS = ("ironflow-webhook.ops.svc", "ironflow-webhook.ops.svc.cluster.local")


class FakeKube:
    """Objects by path; counts writes by verb."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []

    async def get(self, path: str) -> dict[str, Any] | None:
        return self.objects.get(path)

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.writes.append(("create", path))
        self.objects[f"{path}/{body['metadata']['name']}"] = body
        return body

    async def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.writes.append(("patch", path))
        current = self.objects[path]
        for key, value in patch.items():
            current[key] = {**current.get(key, {}), **value} if key == "data" else value
        return current


CERTS = SecretCerts("ops", "ironflow-webhook-tls", "ironflow-pod-declarations", HOSTS)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_given_no_secret_when_leader_ensures_then_pair_for_the_service_names_is_stored_once(
    tmp_path: Path,
) -> None:
    kube = FakeKube()
    ca = _run(CERTS.ensure(kube, tmp_path / "work"))  # type: ignore[arg-type]
    stored = kube.objects[SECRET_PATH]["data"]
    assert set(stored) == {"tls.crt", "tls.key", "ca.crt", "ca.key"}
    assert base64.b64decode(stored["ca.crt"]) == ca
    cert = x509.load_pem_x509_certificate(base64.b64decode(stored["tls.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(HOSTS) <= set(names.get_values_for_type(x509.DNSName))
    # a second round (the same leader, or a new one with an empty work dir) writes nothing
    _run(CERTS.ensure(kube, tmp_path / "work"))  # type: ignore[arg-type]
    _run(CERTS.ensure(kube, tmp_path / "other-leader"))  # type: ignore[arg-type]
    assert kube.writes == [("create", "/api/v1/namespaces/ops/secrets")]


def test_given_stored_pair_when_a_replica_serves_then_it_copies_the_pair_but_never_the_ca_key(
    tmp_path: Path,
) -> None:
    kube = FakeKube()
    assert _run(CERTS.serve_from_secret(kube, tmp_path / "serve")) is False  # type: ignore[arg-type]
    _run(CERTS.ensure(kube, tmp_path / "work"))  # type: ignore[arg-type]
    assert _run(CERTS.serve_from_secret(kube, tmp_path / "serve")) is True  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "serve").iterdir()) == ["ca.crt", "tls.crt", "tls.key"]
    assert (tmp_path / "serve" / "tls.key").stat().st_mode & 0o077 == 0


def test_given_configuration_without_ca_when_leader_trusts_then_every_webhook_gets_it_once(
    tmp_path: Path,
) -> None:
    kube = FakeKube()
    kube.objects[CONFIG_PATH] = {
        "metadata": {"name": "ironflow-pod-declarations", "resourceVersion": "7"},
        "webhooks": [
            {"name": "a", "clientConfig": {"service": {"name": "s"}}},
            {"name": "b", "clientConfig": {}},
        ],
    }
    ca = _run(CERTS.ensure(kube, tmp_path / "work"))  # type: ignore[arg-type]
    assert _run(CERTS.trust(kube, ca)) is True  # type: ignore[arg-type]
    hooks = kube.objects[CONFIG_PATH]["webhooks"]
    assert [h["clientConfig"]["caBundle"] for h in hooks] == [base64.b64encode(ca).decode()] * 2
    assert hooks[0]["clientConfig"]["service"] == {"name": "s"}
    assert _run(CERTS.trust(kube, ca)) is False  # type: ignore[arg-type]
    assert [w for w in kube.writes if w[1] == CONFIG_PATH] == [("patch", CONFIG_PATH)]
