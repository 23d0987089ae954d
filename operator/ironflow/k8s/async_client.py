"""A small raw-JSON async client for the operator, configured only from an explicit ClusterChoice.

Why raw JSON instead of the generated models: the operator compares desired and actual objects as
plain dicts, and the generated client logs whole response bodies at DEBUG (Secret data included),
which must never happen. Responses are read here, errors become ApiError with the API's status
and a clipped message; request and response bodies are never logged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio import client, config

from ironflow.core import bounded_json
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.paths import core_path, group_path

USER_AGENT = "ironflow-operator/0.1.0"
MERGE_PATCH = "application/merge-patch+json"
_AUTH = ["BearerToken"]
__all__ = ["ApiError", "Credentials", "Kube", "core_path", "credentials", "group_path"]


class ApiError(Exception):
    """A refused or failed API call: status 0 means the server could not be reached."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def transient(self) -> bool:
        return self.status in (0, 409, 429) or self.status >= 500


class NotLeading(ApiError):
    """A write refused before it was sent: this replica does not hold the leader Lease (any more)."""

    def __init__(self) -> None:
        super().__init__(0, "NotLeading", "this replica is not the leader; the write was not sent")


@dataclass(frozen=True)
class Credentials:
    """What kopf needs to log in, taken from the same explicit choice as our own client."""

    server: str
    ca_path: str | None
    certificate_path: str | None
    private_key_path: str | None
    token: str | None
    insecure: bool


async def _configuration(choice: ClusterChoice) -> client.Configuration:
    cfg = client.Configuration()
    if choice.in_cluster:
        config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(config_file=choice.kubeconfig, context=choice.context,
                                      client_configuration=cfg, persist_config=False)
    return cfg


async def credentials(choice: ClusterChoice) -> Credentials:
    cfg = await _configuration(choice)
    auth = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
    token = auth[len("Bearer "):] if isinstance(auth, str) and auth.startswith("Bearer ") else auth
    return Credentials(server=str(cfg.host), ca_path=cfg.ssl_ca_cert, certificate_path=cfg.cert_file,
                       private_key_path=cfg.key_file, token=token, insecure=not cfg.verify_ssl)


async def _error(response: aiohttp.ClientResponse) -> ApiError:
    try:
        status = json.loads(await response.read())
        message, reason = str(status.get("message", "")), str(status.get("reason", ""))
    except (ValueError, aiohttp.ClientError):
        message, reason = "", response.reason or ""
    return ApiError(response.status, reason, message[:300])


class Kube:
    """One connection pool for the operator's own calls (kopf keeps its own).

    `write_guard` (set by the leader election) runs before every request that is not a GET and
    raises NotLeading to stop it: the one gate through which every write the operator issues
    passes, so a replica that is not (or no longer) the leader cannot write, whatever the caller.
    """

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api
        self.write_guard: Callable[[], None] | None = None

    @classmethod
    async def connect(cls, choice: ClusterChoice) -> Kube:
        api = client.ApiClient(configuration=await _configuration(choice))
        api.user_agent = USER_AGENT
        return cls(api)

    async def close(self) -> None:
        await self._api.close()

    async def _send(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                    body: Any = None, content_type: str = "application/json",
                    limits: float | aiohttp.ClientTimeout | None = 30.0,
                    accept: str = "application/json", guarded: bool = True) -> aiohttp.ClientResponse:
        if guarded and method != "GET" and self.write_guard is not None:
            self.write_guard()
        headers = {"Accept": accept, "Content-Type": content_type}
        try:
            response: aiohttp.ClientResponse = await self._api.call_api(
                path, method, query_params=list((query or {}).items()), header_params=headers,
                body=body, auth_settings=_AUTH, _preload_content=False, _request_timeout=limits)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ApiError(0, type(exc).__name__, "API server unreachable") from None
        if not 200 <= response.status <= 299:
            error = await _error(response)
            response.release()
            raise error
        return response

    async def request(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      accept: str = "application/json", guarded: bool = True) -> dict[str, Any]:
        """`guarded=False` only for the Lease itself (see write_guard)."""
        response = await self._send(method, path, query=query, body=body, content_type=content_type,
                                    accept=accept, guarded=guarded)
        try:
            payload = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiError(0, type(exc).__name__, "response interrupted") from None
        finally:
            response.release()
        return dict(bounded_json.loads(payload)) if payload else {}

    async def get(self, path: str, *, accept: str = "application/json") -> dict[str, Any] | None:
        try:
            return await self.request("GET", path, accept=accept)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("POST", path, body=dict(body))

    async def merge_patch(self, path: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("PATCH", path, body=dict(patch), content_type=MERGE_PATCH)

    async def watch(self, path: str, query: Mapping[str, str], since: str) -> AsyncIterator[dict[str, Any]]:
        """Raw watch events from `since`; ends when the server closes the stream (timeoutSeconds)."""
        params = {**query, "watch": "true", "resourceVersion": since, "allowWatchBookmarks": "true",
                  "timeoutSeconds": "240"}
        response = await self._send("GET", path, query=params,
                                    limits=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300))
        buffer = b""
        try:
            async for chunk in response.content.iter_any():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield dict(bounded_json.loads(line))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiError(0, type(exc).__name__, "watch interrupted") from None
        finally:
            response.release()
