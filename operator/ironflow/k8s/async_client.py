"""A small raw-JSON async client for the operator, configured only from an explicit ClusterChoice.

Why raw JSON on plain aiohttp instead of the generated models: the operator compares desired and
actual objects as plain dicts; the generated client logs whole response bodies at DEBUG (Secret
data included), which must never happen; and importing kubernetes_asyncio loads every generated
model (about 60 MB of RSS per replica). The cluster is resolved by k8s/kubeconfig.py. Responses
are read here, errors become ApiError with the API's status and a clipped message; request and
response bodies are never logged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from ironflow import __version__
from ironflow.core import bounded_json
from ironflow.k8s.client_tls import ssl_context
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.kubeconfig import Endpoint, resolve
from ironflow.k8s.paths import core_path, group_path

USER_AGENT = f"ironflow-operator/{__version__}"
MERGE_PATCH = "application/merge-patch+json"
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


@dataclass(frozen=True, repr=False)
class Credentials:
    """What kopf needs to log in, taken from the same explicit choice as our own client.

    PEM data is passed as data (kopf loads a CA from memory, and keeps a client key on disk only
    while it builds its SSL context); paths named in the kubeconfig are passed as paths."""

    server: str
    ca_path: str | None
    ca_data: bytes | None
    certificate_path: str | None
    certificate_data: bytes | None
    private_key_path: str | None
    private_key_data: bytes | None
    token: str | None
    username: str | None
    password: str | None
    insecure: bool


async def credentials(choice: ClusterChoice) -> Credentials:
    """Resolved again at each kopf login, so a rotated service-account token is picked up."""
    e = resolve(choice)
    return Credentials(server=e.server, ca_path=e.ca_path, ca_data=e.ca_data,
                       certificate_path=e.certificate_path, certificate_data=e.certificate_data,
                       private_key_path=e.private_key_path, private_key_data=e.private_key_data,
                       token=e.bearer_token(), username=e.username, password=e.password,
                       insecure=e.insecure)


def _authorization(endpoint: Endpoint) -> dict[str, str]:
    token = endpoint.bearer_token()
    if token:
        return {"Authorization": f"Bearer {token}"}
    if endpoint.username is not None and endpoint.password is not None:
        pair = f"{endpoint.username}:{endpoint.password}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode('ascii')}"}
    return {}


def _timeout(limits: float | aiohttp.ClientTimeout | None) -> aiohttp.ClientTimeout:
    if isinstance(limits, aiohttp.ClientTimeout):
        return limits
    return aiohttp.ClientTimeout(total=limits)


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

    def __init__(self, session: aiohttp.ClientSession, endpoint: Endpoint) -> None:
        self._session = session
        self._endpoint = endpoint
        self.write_guard: Callable[[], None] | None = None

    @classmethod
    async def connect(cls, choice: ClusterChoice) -> Kube:
        endpoint = resolve(choice)
        connector = aiohttp.TCPConnector(ssl=ssl_context(endpoint))
        session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT},
                                        auto_decompress=True, trust_env=False)
        return cls(session, endpoint)

    async def close(self) -> None:
        await self._session.close()

    async def _send(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                    body: Any = None, content_type: str = "application/json",
                    limits: float | aiohttp.ClientTimeout | None = 30.0,
                    accept: str = "application/json", guarded: bool = True) -> aiohttp.ClientResponse:
        if guarded and method != "GET" and self.write_guard is not None:
            self.write_guard()
        data = body if body is None or isinstance(body, bytes | str) else json.dumps(body)
        try:
            headers = {"Accept": accept, "Content-Type": content_type, **_authorization(self._endpoint)}
            response = await self._session.request(
                method, self._endpoint.server + path, params=dict(query or {}), headers=headers,
                data=data, timeout=_timeout(limits), server_hostname=self._endpoint.tls_server_name)
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
