"""Mutual TLS: with a client CA, only a certificate it signed gets through the handshake, and with
client names only one naming an allowed client gets an answer."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable, Collection
from pathlib import Path

from helpers_ironflow_env import view

from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView
from ironflow.webhook.server import WebhookOptions, WebhookServer
from ironflow_testbed.pki import CertificateAuthority, KeyPair

API_SERVER = "kube-apiserver-webhook-client"
REVIEW = {
    "apiVersion": "admission.k8s.io/v1",
    "kind": "AdmissionReview",
    "request": {"uid": "abc", "namespace": "dev", "object": {"metadata": {}, "spec": {"containers": []}}},
}


async def _read(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
    return view(namespace=namespace)


def _context(server_ca: Path, client: KeyPair | None, directory: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server_ca))
    if client is not None:
        cert, key = client.write(directory, "client")
        context.load_cert_chain(cert, key)
    return context


REFUSED = (ssl.SSLError, ConnectionResetError, BrokenPipeError)
Issue = Callable[[CertificateAuthority], KeyPair | None]


async def _post(port: int, context: ssl.SSLContext) -> tuple[int, dict[str, object]] | None:
    """The HTTP status and answer, or None when the server closed the TLS connection unanswered."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        payload = json.dumps(REVIEW).encode()
        writer.write(
            b"POST /mutate-pods HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        raw = await reader.read()
        writer.close()
    except REFUSED:
        return None  # TLS 1.2 fails the handshake itself; TLS 1.3 rejects right after it
    if not raw:
        return None
    head, body = raw.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), dict(json.loads(body))


def _serve_and_post(tmp_path: Path, issue: Issue) -> tuple[int, dict[str, object]] | None:
    ca = CertificateAuthority.create("cluster-ca")
    ca_file, _ = ca.keypair.write(tmp_path / "client-ca", "ca")
    options = WebhookOptions(
        port=0, cert_dir=tmp_path / "serving", client_ca=ca_file, client_names=(API_SERVER,)
    )

    async def scenario() -> tuple[int, dict[str, object]] | None:
        server = WebhookServer(options, _read)
        await server.start()
        try:
            return await _post(server.port, _context(server.paths.ca, issue(ca), tmp_path))
        finally:
            await server.stop()

    return asyncio.run(scenario())


def test_given_client_ca_when_the_api_servers_certificate_is_presented_then_answered(tmp_path: Path) -> None:
    answered = _serve_and_post(tmp_path, lambda ca: ca.issue_client(API_SERVER))
    assert answered is not None
    assert answered[0] == 200 and answered[1]["response"] == {"uid": "abc", "allowed": True}


def test_given_client_ca_when_no_certificate_then_refused_in_the_handshake(tmp_path: Path) -> None:
    assert _serve_and_post(tmp_path, lambda ca: None) is None


def test_given_client_ca_when_certificate_of_another_ca_then_refused_in_the_handshake(tmp_path: Path) -> None:
    stranger = CertificateAuthority.create("stranger")
    assert _serve_and_post(tmp_path, lambda ca: stranger.issue_client(API_SERVER)) is None


def test_given_client_names_when_a_user_certificate_of_the_same_ca_then_403(tmp_path: Path) -> None:
    answered = _serve_and_post(tmp_path, lambda ca: ca.issue_client("alice", ("tenants",)))
    assert answered is not None
    assert answered[0] == 403 and answered[1]["response"]["allowed"] is False  # type: ignore[index]
