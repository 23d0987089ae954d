"""k8s/async_client.Kube on plain aiohttp, against a loopback HTTP server standing in for the API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ironflow.k8s import async_client
from ironflow.k8s.async_client import USER_AGENT, ApiError, Kube
from ironflow.k8s.kubeconfig import Endpoint


async def _with_server(token_file: Path, scenario: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append({"method": request.method, "path": request.path, "query": dict(request.query),
                     "auth": request.headers.get("Authorization"), "agent": request.headers.get("User-Agent"),
                     "type": request.headers.get("Content-Type"), "body": await request.text()})
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
    endpoint = Endpoint(server=f"http://127.0.0.1:{port}", token_file=str(token_file))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(async_client, "resolve", lambda _choice: endpoint)
        kube = await Kube.connect(None)  # type: ignore[arg-type]
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

    async def scenario(kube: Kube, token_file: Path) -> None:
        assert await kube.get("/api/v1/namespaces/a/configmaps/b") == {"ok": True}
        token_file.write_text("t2")  # noqa: ASYNC240 - rotated: the next request carries it
        await kube.merge_patch("/api/v1/namespaces/a/configmaps/b", {"data": {"K": "v"}})
        assert await kube.get("/api/v1/namespaces/a/configmaps/missing") is None
        with pytest.raises(ApiError) as raised:
            await kube.create("/api/v1/namespaces/a/configmaps/missing", {})
        assert raised.value.status == 404 and len(raised.value.message) == 300
        async for event in kube.watch("/api/v1/configmaps", {"labelSelector": "a=b"}, "7"):
            events.append(event)

    seen = asyncio.run(_with_server(token, scenario))
    assert [s["auth"] for s in seen[:2]] == ["Bearer t1", "Bearer t2"]
    assert {s["agent"] for s in seen} == {USER_AGENT}
    assert seen[1]["method"] == "PATCH" and seen[1]["type"] == "application/merge-patch+json"
    assert json.loads(seen[1]["body"]) == {"data": {"K": "v"}}
    assert seen[-1]["query"] == {"labelSelector": "a=b", "watch": "true", "resourceVersion": "7",
                                 "allowWatchBookmarks": "true", "timeoutSeconds": "240"}
    assert events == [{"type": "ADDED", "object": {"a": 1}}, {"type": "DELETED", "object": {"a": 2}}]
