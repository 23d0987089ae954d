"""tls-server-name and proxy-url reach our client and the session handed to kopf alike.

A loopback HTTPS server whose certificate names only `api.internal` (not the address it listens
on) stands in for an API server reached under another name; the proxy is ours, on loopback.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ironflow.k8s.async_client import ApiError, Kube
from ironflow.k8s.credentials import CredentialSource
from ironflow.k8s.kubeconfig import Endpoint
from ironflow_testbed.pki import CertificateAuthority
from ironflow_testbed.proxy import ConnectProxy

NAME = "api.internal"


Scenario = Callable[[str, bytes, list[dict[str, Any]]], Awaitable[None]]


async def _serve(tmp_path: Path, scenario: Scenario) -> None:
    ca = CertificateAuthority.create()
    cert, key = ca.issue_serving("api", (NAME,)).write(tmp_path, "server")
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    seen: list[dict[str, Any]] = []
    names: list[str | None] = []
    server_side.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,func-returns-value]

    async def handle(request: web.Request) -> web.Response:
        seen.append({"auth": request.headers.get("Authorization"), "sni": names[-1] if names else None})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_side)
    await site.start()
    try:
        await scenario(f"https://127.0.0.1:{runner.addresses[0][1]}", ca.keypair.cert_pem, seen)
    finally:
        await runner.cleanup()


async def _both_clients(endpoint: Endpoint) -> list[str]:
    """A GET by our client and one by kopf's session; what each gave back (or the error's kind)."""
    kube = Kube(endpoint, CredentialSource(endpoint))
    out: list[str] = []
    try:
        try:
            out.append(str(await kube.get("/ours")))
        except ApiError as exc:
            out.append(exc.reason)
        session, renew_at = await kube.session_for_kopf()
        assert renew_at is None  # a token: kopf need not log in again to get a fresh one
        try:
            async with session.get(endpoint.server + "/kopf") as response:
                out.append(str(await response.json()))
        except Exception as exc:
            out.append(type(exc).__name__)
        finally:
            await session.close()
    finally:
        await kube.close()
    return out


def test_given_tls_server_name_when_both_clients_connect_then_sni_and_verification_use_it(
    tmp_path: Path,
) -> None:
    async def scenario(server: str, ca: bytes, seen: list[dict[str, Any]]) -> None:
        named = Endpoint(server=server, ca_data=ca, token="t", tls_server_name=NAME)
        assert await _both_clients(named) == ["{'ok': True}"] * 2
        assert seen == [{"auth": "Bearer t", "sni": NAME}] * 2
        unnamed = Endpoint(server=server, ca_data=ca, token="t")  # the certificate does not name 127.0.0.1
        assert await _both_clients(unnamed) == ["ClientConnectorCertificateError"] * 2
        wrong = Endpoint(server=server, ca_data=ca, token="t", tls_server_name="other.internal")
        assert await _both_clients(wrong) == ["ClientConnectorCertificateError"] * 2
        assert len(seen) == 2

    asyncio.run(_serve(tmp_path, scenario))


def test_given_a_proxy_url_when_both_clients_connect_then_through_that_proxy_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # the environment is never read
    monkeypatch.setenv("NO_PROXY", "")

    async def scenario(server: str, ca: bytes, seen: list[dict[str, Any]]) -> None:
        proxy = ConnectProxy()
        listener = await proxy.serve()
        try:
            direct = Endpoint(server=server, ca_data=ca, token="t", tls_server_name=NAME)
            assert await _both_clients(direct) == ["{'ok': True}"] * 2
            assert proxy.tunnels == []
            proxied = Endpoint(server=server, ca_data=ca, token="t", tls_server_name=NAME,
                               proxy_url=proxy.url)
            assert await _both_clients(proxied) == ["{'ok': True}"] * 2
            assert proxy.tunnels == [server.removeprefix("https://")] * 2  # one connection per client
            assert [s["sni"] for s in seen] == [NAME] * 4  # the name survives the tunnel
        finally:
            listener.close()

    asyncio.run(_serve(tmp_path, scenario))
