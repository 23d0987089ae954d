"""The webhook's HTTPS server: verified TLS on loopback, and a renewed certificate without restart."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Collection
from pathlib import Path

from cryptography import x509
from helpers_ironflow_env import view

from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView
from ironflow.webhook.server import WebhookOptions, WebhookServer


async def _read(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
    return view(secrets={"app": {"DB_PASSWORD": "v1"}}, namespace=namespace)


async def _served_certificate(port: int, ca: Path) -> x509.Certificate:
    context = ssl.create_default_context(cafile=str(ca))
    _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    await writer.wait_closed()
    return x509.load_der_x509_certificate(der)


async def _post(port: int, ca: Path, path: str, body: dict[str, object]) -> dict[str, object]:
    context = ssl.create_default_context(cafile=str(ca))
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    payload = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    raw = await reader.read()
    writer.close()
    return dict(json.loads(raw.split(b"\r\n\r\n", 1)[1]))


def test_given_server_when_certificate_renewed_then_new_connections_get_it_without_restart(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        server = WebhookServer(WebhookOptions(port=0, cert_dir=tmp_path), _read)
        await server.start()
        try:
            first = await _served_certificate(server.port, server.paths.ca)
            server.paths.cert.unlink()  # as if expired: the next refresh must issue a new one
            assert await server.refresh()
            second = await _served_certificate(server.port, server.paths.ca)
            assert first.serial_number != second.serial_number
            assert not await server.refresh()
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_given_admission_review_over_tls_when_posted_then_reviewed(tmp_path: Path) -> None:
    async def scenario() -> dict[str, object]:
        server = WebhookServer(WebhookOptions(port=0, cert_dir=tmp_path), _read)
        await server.start()
        try:
            review = {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": "abc",
                    "namespace": "dev",
                    "object": {
                        "metadata": {"annotations": {"ironflow.io/secrets": "NOPE"}},
                        "spec": {"containers": [{"name": "app"}]},
                    },
                },
            }
            return await _post(server.port, server.paths.ca, "/mutate-pods", review)
        finally:
            await server.stop()

    response = asyncio.run(scenario())["response"]
    assert isinstance(response, dict)
    assert response["uid"] == "abc" and response["allowed"] is False
    assert "environment dev does not define secret NOPE" in response["status"]["message"]
