"""What kopf gets at each login: our session (tls-server-name, proxy, shared credential cache)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kopf
import pytest

from ironflow.controller import login as login_module
from ironflow.k8s.async_client import Kube
from ironflow.k8s.credentials import CredentialSource
from ironflow.k8s.kubeconfig import Endpoint


def _logins(endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch, between: Any) -> list[kopf.AiohttpSession]:
    async def scenario() -> list[kopf.AiohttpSession]:
        kube = Kube(endpoint, CredentialSource(endpoint))
        memo = SimpleNamespace(runtime=SimpleNamespace(kube=kube, kopf_login={}))
        first = await login_module.login(memo=memo)
        identity = await kube.credentials.current()
        between()
        kube.credentials.invalidate(identity)  # what a 401 to kopf's request does (the middleware)
        second = await login_module.login(memo=memo)
        for info in {id(i): i for i in (first, second)}.values():
            await info.aiohttp_session.close()
        await kube.close()
        return [first, second]

    return asyncio.run(scenario())


def test_given_a_rotated_token_file_when_kopf_logs_in_after_a_401_then_a_new_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("t1")
    endpoint = Endpoint(server="https://api.example:6443", token_file=str(token))
    first, second = _logins(endpoint, monkeypatch, lambda: token.write_text("t2"))
    assert isinstance(first, kopf.AiohttpSession) and first.server == "https://api.example:6443"
    assert first.expiration is None and second is not first and second != first


def test_given_the_same_credential_after_a_401_when_kopf_logs_in_then_the_refused_info_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kopf keeps the infos it saw refused and will not take one again: it stops with its own error
    rather than resending a refused credential in a loop."""
    token = tmp_path / "token"
    token.write_text("t1")
    first, second = _logins(Endpoint(server="https://k", token_file=str(token)), monkeypatch, lambda: None)
    assert second is first
