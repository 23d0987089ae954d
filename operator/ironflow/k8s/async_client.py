"""A small raw-JSON async client for the operator, configured only from an explicit ClusterChoice.

Why raw JSON on plain aiohttp instead of the generated models: the operator compares desired and
actual objects as plain dicts; the generated client logs whole response bodies at DEBUG (Secret
data included), which must never happen; and importing kubernetes_asyncio loads every generated
model (about 60 MB of RSS per replica). The cluster is resolved by k8s/kubeconfig.py, the
credential fetched and cached by k8s/credentials.py; the sessions made here (ours and the one
handed to kopf) carry the kubeconfig's CA, tls-server-name, proxy-url and client certificate.
Responses are read here, errors become ApiError with the API's status and a clipped message;
request and response bodies are never logged.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import aiohttp

from ironflow import __version__
from ironflow.core import bounded_json
from ironflow.k8s.client_tls import ssl_context
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.credentials import CredentialSource, Identity
from ironflow.k8s.kubeconfig import Endpoint, KubeconfigError, resolve
from ironflow.k8s.paths import core_path, group_path, namespace_of

USER_AGENT = f"ironflow-operator/{__version__}"
MERGE_PATCH = "application/merge-patch+json"
__all__ = ["ApiError", "Kube", "core_path", "group_path", "namespace_of", "open_session"]
SESSIONS_KEPT = 2  # a session per client certificate: the current one and the one before


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


def open_session(endpoint: Endpoint, identity: Identity, *, limit: int = 100,
                 headers: Mapping[str, str] | None = None,
                 middlewares: Sequence[aiohttp.ClientMiddlewareType] = ()) -> aiohttp.ClientSession:
    """A session for the API server: its CA, tls-server-name and proxy-url, `identity`'s client
    certificate. Never the environment's proxy variables (trust_env=False): only what was named."""
    connector = aiohttp.TCPConnector(ssl=ssl_context(endpoint, identity), limit=limit)
    return aiohttp.ClientSession(connector=connector, headers=headers, proxy=endpoint.proxy_url,
                                 auto_decompress=True, trust_env=False, middlewares=middlewares)


def user_agent(replica_id: str | None = None) -> str:
    """With a replica id the audit log tells the replicas of one release apart (--replica-id)."""
    return f"{USER_AGENT} (replica {replica_id})" if replica_id else USER_AGENT


def _kopf_version() -> str:
    try:
        return importlib.metadata.version("kopf")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


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
    """One connection pool for the operator's own calls (kopf gets its own from `session_for_kopf`).

    `write_guard` (set by the runtime: leader election, shares) runs before every request that is
    not a GET, with its path, and raises NotLeading to stop it: the one gate through which every
    write the operator issues passes, so a replica that does not (or no longer) own what the path
    names cannot write, whatever the caller.
    A request answered 401 is sent once more with a fresh credential when one can be had (a
    token file read again, an exec plugin run again): a 401 means the server did nothing with it.
    """

    def __init__(self, endpoint: Endpoint, credentials: CredentialSource, agent: str = USER_AGENT) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.agent = agent
        self._sessions: dict[tuple[bytes | None, bytes | None], aiohttp.ClientSession] = {}
        # Called with the path of every request but a GET: raises NotLeading to stop it.
        self.write_guard: Callable[[str], None] | None = None

    @classmethod
    async def connect(cls, choice: ClusterChoice, agent: str = USER_AGENT) -> Kube:
        """Fetches the first credential at once: a plugin that cannot run stops the start with its error."""
        endpoint = resolve(choice)
        kube = cls(endpoint, CredentialSource(endpoint), agent)
        await kube.credentials.current()
        return kube

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def _session(self, identity: Identity) -> aiohttp.ClientSession:
        key = (identity.certificate, identity.key)
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = open_session(self.endpoint, identity,
                                                         headers={"User-Agent": self.agent})
            while len(self._sessions) > SESSIONS_KEPT:  # two certificates ago: nothing uses it now
                await self._sessions.pop(next(iter(self._sessions))).close()
        return session

    async def _identity(self) -> tuple[Identity, aiohttp.ClientSession]:
        try:
            identity = await self.credentials.current()
            return identity, await self._session(identity)
        except KubeconfigError as exc:  # the message names the plugin or file, never a credential
            raise ApiError(0, "CredentialUnavailable", str(exc)[:300]) from None

    async def session_for_kopf(self) -> tuple[aiohttp.ClientSession, float | None]:
        """A session for kopf sharing our credential: each request carries the current one, and a
        401 invalidates it for both clients. The second value is when kopf must log in again for
        a new session (a client certificate lives in the session's SSL context), else None."""
        identity = await self.credentials.current()
        credentials = self.credentials

        async def authorize(request: aiohttp.ClientRequest,
                            handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
            try:
                current = await credentials.current()
            except KubeconfigError as exc:  # kopf retries a connection error with its backoff
                raise aiohttp.ClientConnectionError(str(exc)) from None
            if session.closed:
                # kopf closed this session (a re-login after a 401) while we awaited the credential,
                # e.g. an exec plugin's re-run. aiohttp would fail on an assertion; kopf turns this
                # RuntimeError on a closed session into a retry with its new session.
                raise RuntimeError("Session is closed")
            request.headers.update(current.authorization())
            response = await handler(request)
            if response.status == 401:
                credentials.invalidate(current)
            return response

        # kopf names itself in the User-Agent unless the session does; it keeps its name, plus the replica.
        replica = self.agent.removeprefix(USER_AGENT)
        headers = {"User-Agent": f"kopf/{_kopf_version()}{replica}"} if replica else None
        session = open_session(self.endpoint, identity, limit=0, headers=headers, middlewares=(authorize,))
        return session, identity.refresh_at if identity.certificate else None

    async def _send(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                    body: Any = None, content_type: str = "application/json",
                    limits: float | aiohttp.ClientTimeout | None = 30.0,
                    accept: str = "application/json", guarded: bool = True) -> aiohttp.ClientResponse:
        if guarded and method != "GET" and self.write_guard is not None:
            self.write_guard(path)
        data = body if body is None or isinstance(body, bytes | str) else json.dumps(body)
        for attempt in (1, 2):
            identity, session = await self._identity()
            try:
                headers = {"Accept": accept, "Content-Type": content_type, **identity.authorization()}
                response = await session.request(
                    method, self.endpoint.server + path, params=dict(query or {}), headers=headers,
                    data=data, timeout=_timeout(limits))
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise ApiError(0, type(exc).__name__, "API server unreachable") from None
            if response.status == 401 and attempt == 1 and self.credentials.invalidate(identity):
                response.release()
                continue
            if not 200 <= response.status <= 299:
                error = await _error(response)
                response.release()
                raise error
            return response
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

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

    async def watch(self, path: str, query: Mapping[str, str], since: str, *,
                    timeout_seconds: int = 240) -> AsyncIterator[dict[str, Any]]:
        """Raw watch events from `since`; ends when the server closes the stream (timeoutSeconds).
        Consumers use k8s/informer.py, which lists first and resumes, relists and backs off."""
        params = {**query, "watch": "true", "resourceVersion": since, "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(timeout_seconds)}
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
