"""The webhook's start-up, whole, from what the operator hands it (webhook/host.py), no controller.

Self-managed certificates on the leader: the pair is made into the Secret and trusted by the
configuration before the server serves; the replica serves that pair, reports ready once the
configuration trusts it, answers from the caches it was handed, and `stop` ends all it started.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import types
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ironflow.core.model import Kind as ResourceKind
from ironflow.core.projection import Actual
from ironflow.k8s.async_client import Kube
from ironflow.webhook.configuration import CONFIGURATION_NAME, MUTATE_PATH
from ironflow.webhook.host import WebhookHost
from ironflow.webhook.reader import OperatorCaches
from ironflow.webhook.server import WebhookOptions
from ironflow.webhook.startup import PodWebhook

CONFIG_PATH = f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{CONFIGURATION_NAME}"
SECRET_PATH = "/api/v1/namespaces/ops/secrets/ironflow-webhook-tls"


class FakeKube:
    """Objects by path, as the API server would hold them for these calls."""

    def __init__(self) -> None:
        webhooks = [{"name": "declarations.pods.ironflow.io", "clientConfig": {"service": {}}}]
        self.objects: dict[str, dict[str, Any]] = {CONFIG_PATH: {"metadata": {}, "webhooks": webhooks}}

    async def get(self, path: str) -> dict[str, Any] | None:
        return self.objects.get(path)

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.objects[f"{path}/{body['metadata']['name']}"] = body
        return body

    async def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        current = self.objects[path]
        for key, value in patch.items():
            current[key] = {**current.get(key, {}), **value} if key == "data" else value
        return current


class Leading:
    def __init__(self) -> None:
        self.hooks: list[Callable[[], Awaitable[None]]] = []
        self.report = types.SimpleNamespace(text=None)

    def is_leading(self) -> bool:
        return True

    def on_gain(self, hook: Callable[[], Awaitable[None]]) -> None:
        self.hooks.append(hook)


class Tasks:
    def __init__(self) -> None:
        self.started: list[asyncio.Task[None]] = []

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        async def run() -> None:
            await factory()

        task = asyncio.create_task(run(), name=name)
        self.started.append(task)
        return task


class NoResources:
    async def prime(self, kube: Kube, namespace: str) -> None:
        raise AssertionError(f"{namespace} is not served: nothing may be read for it")

    def revision(self, namespace: str) -> int:
        return 0

    def bodies(self, kind: ResourceKind, namespace: str) -> list[dict[str, Any]]:
        return []


class NoProjections:
    def get(self, kind: ResourceKind, namespace: str, name: str) -> Actual | None:
        return None


class Readiness:
    """`trusted` is set whenever the webhook says the API server can call it."""

    def __init__(self) -> None:
        self.trusted = asyncio.Event()
        self.reasons: list[str | None] = []

    @property
    def webhook_untrusted(self) -> str | None:
        return self.reasons[-1] if self.reasons else None

    @webhook_untrusted.setter
    def webhook_untrusted(self, reason: str | None) -> None:
        self.reasons.append(reason)
        (self.trusted.clear if reason else self.trusted.set)()


async def _post(port: int, ca: bytes, body: dict[str, Any]) -> dict[str, Any]:
    context = ssl.create_default_context(cadata=ca.decode())
    context.check_hostname = False  # the pair names the Service, the test calls 127.0.0.1
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    payload = json.dumps(body).encode()
    writer.write(f"POST {MUTATE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
    raw = await reader.read()
    writer.close()
    return dict(json.loads(raw.split(b"\r\n\r\n", 1)[1]))


def _review(namespace: str) -> dict[str, Any]:
    pod = {"metadata": {"annotations": {"ironflow.io/secrets": "DB"}},
           "spec": {"containers": [{"name": "a"}]}}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u1", "namespace": namespace, "object": pod}}


def test_given_self_managed_certificates_on_the_leader_when_started_then_serves_trusted_pair_and_stops_clean(
    tmp_path: Path,
) -> None:
    kube, leader, tasks = FakeKube(), Leading(), Tasks()
    caches = OperatorCaches(patterns=("team-*",), served=set(), resources=NoResources(),
                            projected=NoProjections())
    options = WebhookOptions(host="127.0.0.1", port=0, cert_dir=tmp_path / "serving",
                             hosts=("ironflow-webhook.ops.svc",), cert_secret="ironflow-webhook-tls")

    async def scenario() -> dict[str, Any]:
        readiness = Readiness()
        host = WebhookHost(kube=kube, operator_namespace="ops", caches=caches,  # type: ignore[arg-type]
                           leadership=leader, supervisor=tasks, readiness=readiness)
        webhook = PodWebhook(options, host)
        await webhook.start()
        try:
            stored = kube.objects[SECRET_PATH]["data"]
            ca = base64.b64decode(stored["ca.crt"])
            bundle = kube.objects[CONFIG_PATH]["webhooks"][0]["clientConfig"]["caBundle"]
            assert base64.b64decode(bundle) == ca  # trusted before the replica served
            assert (tmp_path / "serving" / "tls.crt").read_bytes() == base64.b64decode(stored["tls.crt"])
            assert not (tmp_path / "serving" / "ca.key").exists()
            await asyncio.wait_for(readiness.trusted.wait(), timeout=10)
            assert readiness.reasons[0] == "not checked yet"  # not ready before the first check
            # at each gain: register (by URL only) and renew; renewal also runs every round, supervised
            assert len(leader.hooks) == 2 and len(tasks.started) == 1
            assert webhook.running is not None
            response = await _post(webhook.running.server.port, ca, _review("other"))
        finally:
            await webhook.stop()
        assert all(task.done() for task in tasks.started)
        assert webhook.running is None
        return response

    response = asyncio.run(scenario())["response"]
    assert response["allowed"] is False
    assert "environment other is not served by this Ironflow operator" in response["status"]["message"]
