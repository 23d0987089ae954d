"""k8s/async_client.Kube on plain aiohttp, against a loopback HTTP server standing in for the API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ironflow.k8s.async_client import USER_AGENT, ApiError, Kube
from ironflow.k8s.credentials import TOKEN_FILE_SECONDS, CredentialSource
from ironflow.k8s.kubeconfig import Endpoint


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _with_server(token_file: Path | None, scenario: Any, valid: set[str] | None = None,
                       clock: Clock | None = None, **endpoint: Any) -> list[dict[str, Any]]:
    """`valid`: the tokens the server accepts (401 for any other); None: every request is accepted."""
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append({"method": request.method, "path": request.path, "query": dict(request.query),
                     "auth": request.headers.get("Authorization"), "agent": request.headers.get("User-Agent"),
                     "type": request.headers.get("Content-Type"), "body": await request.text()})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if valid is not None and token not in valid:
            return web.json_response({"reason": "Unauthorized", "message": "Unauthorized"}, status=401)
        if request.path.endswith("/missing"):
            return web.json_response({"reason": "NotFound", "message": "x" * 1000}, status=404)
        if request.query.get("watch") == "true":
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(b'{"type":"ADDED","object":{"a":1}}\n{"type":"DELE')
            await response.write(b'TED","object":{"a":2}}\n')
            return response
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    target = Endpoint(server=f"http://127.0.0.1:{port}", token_file=str(token_file) if token_file else None,
                      **endpoint)
    kube = Kube(target, CredentialSource(target, clock or Clock()))
    try:
        await scenario(kube, token_file)
    finally:
        await kube.close()
        await runner.cleanup()
    return seen


def test_given_a_server_when_the_client_calls_then_token_agent_patch_errors_and_watch_as_before(
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    token.write_text("t1\n")
    events: list[dict[str, Any]] = []
    valid = {"t1"}

    async def scenario(kube: Kube, token_file: Path) -> None:
        assert await kube.get("/api/v1/namespaces/a/configmaps/b") == {"ok": True}
        token_file.write_text("t2")  # noqa: ASYNC240 - rotated, and the server now refuses t1:
        valid.clear()
        valid.add("t2")  # the cached t1 gets a 401, the file is read again and the request resent
        await kube.merge_patch("/api/v1/namespaces/a/configmaps/b", {"data": {"K": "v"}})
        assert await kube.get("/api/v1/namespaces/a/configmaps/missing") is None
        with pytest.raises(ApiError) as raised:
            await kube.create("/api/v1/namespaces/a/configmaps/missing", {})
        assert raised.value.status == 404 and len(raised.value.message) == 300
        async for event in kube.watch("/api/v1/configmaps", {"labelSelector": "a=b"}, "7"):
            events.append(event)

    seen = asyncio.run(_with_server(token, scenario, valid))
    assert [s["auth"] for s in seen[:4]] == ["Bearer t1", "Bearer t1", "Bearer t2", "Bearer t2"]
    assert {s["agent"] for s in seen} == {USER_AGENT}
    assert [s["method"] for s in seen[1:3]] == ["PATCH", "PATCH"]
    assert seen[2]["type"] == "application/merge-patch+json"
    assert json.loads(seen[2]["body"]) == {"data": {"K": "v"}}
    assert seen[-1]["query"] == {"labelSelector": "a=b", "watch": "true", "resourceVersion": "7",
                                 "allowWatchBookmarks": "true", "timeoutSeconds": "240"}
    assert events == [{"type": "ADDED", "object": {"a": 1}}, {"type": "DELETED", "object": {"a": 2}}]


def test_given_a_rotated_token_file_when_requests_follow_then_cached_until_the_period_ends(
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    token.write_text("t1")
    clock = Clock()

    async def scenario(kube: Kube, token_file: Path) -> None:
        await kube.get("/a")
        token_file.write_text("t2")  # noqa: ASYNC240 - both accepted: only the cache period matters
        await kube.get("/b")
        clock.now += TOKEN_FILE_SECONDS - 1
        await kube.get("/c")
        clock.now += 2
        await kube.get("/d")

    seen = asyncio.run(_with_server(token, scenario, clock=clock))
    assert [(s["path"], s["auth"]) for s in seen] == [
        ("/a", "Bearer t1"), ("/b", "Bearer t1"), ("/c", "Bearer t1"), ("/d", "Bearer t2")]


def test_given_a_fixed_token_when_the_server_answers_401_then_one_request_and_the_401_raised() -> None:
    async def scenario(kube: Kube, _token_file: Path | None) -> None:
        with pytest.raises(ApiError) as raised:
            await kube.get("/a")
        assert raised.value.status == 401

    seen = asyncio.run(_with_server(None, scenario, valid={"good"}, token="bad"))
    assert [s["auth"] for s in seen] == ["Bearer bad"]


def test_given_an_unloadable_client_certificate_when_a_request_is_made_then_a_credential_error() -> None:
    endpoint = Endpoint(server="https://127.0.0.1:9", certificate_data=b"not a certificate",
                        private_key_data=b"not a key")

    async def scenario() -> ApiError:
        kube = Kube(endpoint, CredentialSource(endpoint))
        try:
            with pytest.raises(ApiError) as raised:
                await kube.get("/a")
            return raised.value
        finally:
            await kube.close()

    error = asyncio.run(scenario())
    assert (error.status, error.reason) == (0, "CredentialUnavailable")
    assert error.message.startswith("the kubeconfig's client certificate and key cannot be used")
