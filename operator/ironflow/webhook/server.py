"""The HTTPS server the API server calls for declaring pods, with live certificate reload.

An aiohttp server of our own rather than kopf's admission support: the configuration needs
matchConditions and a namespaceSelector that kopf's managed configuration cannot express, and
certificates must rotate without a restart. Rotation reloads the same SSLContext in place, so
connections already open finish on the old certificate and new ones get the new certificate.

Only the API server should be a client: with a client CA (`--webhook-client-ca`) the TLS
handshake requires a client certificate signed by it, so a caller without one (or with one from
another CA) never gets to send a byte of HTTP. With client names (`--webhook-client-name`) the
certificate must also name one of them (subject CN or a DNS SAN): a cluster CA usually signs user
certificates too, and those must not pass for the API server. The context is built from nothing
(no system CAs): a client certificate from some public CA is no credential here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from ironflow.webhook.admission import (
    EnvironmentReader,
    decisions,
    deny,
    review_declarations,
    review_enforcement,
)
from ironflow.webhook.certs import DEFAULT_HOSTS, CertPaths, ensure_certificates
from ironflow.webhook.client_auth import ClientCa, client_name_allowed
from ironflow.webhook.configuration import ENFORCE_PATH, MUTATE_PATH
from ironflow.webhook.review import review_uid

log = logging.getLogger("ironflow.webhook")

MAX_REVIEW_BYTES = 3 * 1024 * 1024  # a pod is at most ~1.5 MiB in etcd; the review wraps it
CaChanged = Callable[[bytes | None], Awaitable[None]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class WebhookOptions:
    host: str = "127.0.0.1"
    port: int = 9443
    cert_dir: Path = Path("/tmp/ironflow-webhook-certs")  # noqa: S108  # dev default; 0700, ours only
    url: str | None = None  # when set, the operator registers the configuration with this URL
    hosts: Sequence[str] = field(default_factory=lambda: DEFAULT_HOSTS)
    rotation_check_seconds: float = 3600.0
    client_ca: Path | None = None  # when set, every client must present a certificate it signed
    client_names: Sequence[str] = ()  # when set, that certificate must name one of these
    cert_secret: str | None = None  # self-managed: the pair lives in this Secret (secret_certs.py)


class WebhookServer:
    def __init__(self, options: WebhookOptions, read: EnvironmentReader) -> None:
        self.options = options
        self.paths = CertPaths(options.cert_dir)
        self._read = read
        self._ssl: ssl.SSLContext | None = None
        self._runner: web.AppRunner | None = None
        self._mtimes: tuple[float, float] = (0.0, 0.0)
        self._client_ca = ClientCa(options.client_ca) if options.client_ca is not None else None
        self.port = options.port

    async def start(self) -> None:
        await asyncio.to_thread(ensure_certificates, self.paths, self.options.hosts)
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no system CAs, unlike create_default_context
        self._ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        self._load()
        if self._client_ca is not None:
            self._client_ca.require(self._ssl)
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port, ssl_context=self._ssl)
        await site.start()
        for address in self._runner.addresses:  # the bound port, when asked for port 0
            self.port = int(address[1])
        log.info("pod webhook serving on https://%s:%d (client certificates: %s)",
                 self.options.host, self.port, self._client_policy())

    def application(self) -> web.Application:
        """The routes, for the TLS site and for in-process tests (which call it without TLS)."""
        middlewares = [self._only_named_clients] if self.options.client_names else []
        app = web.Application(client_max_size=MAX_REVIEW_BYTES, middlewares=middlewares)
        app.router.add_post(MUTATE_PATH, self._handler(review_declarations))
        app.router.add_post(ENFORCE_PATH, self._handler(review_enforcement))
        app.router.add_get("/healthz", self._healthz)
        return app

    def _client_policy(self) -> str:
        if self._client_ca is None:
            return "not required"
        names = ", ".join(self.options.client_names) or "any name"
        return f"required, signed by {self._client_ca.path}, naming {names}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def refresh(self) -> bool:
        """Renew (managed) or pick up (provided) certificates; True when the serving cert changed."""
        await asyncio.to_thread(ensure_certificates, self.paths, self.options.hosts)
        if self._client_ca is not None and self._ssl is not None:
            self._client_ca.reload_if_changed(self._ssl)
        if self._mtimes == self._stat():
            return False
        self._load()
        log.info("pod webhook certificate reloaded from %s", self.paths.directory)
        return True

    async def rotate_forever(self, on_change: CaChanged | None = None) -> None:
        while True:
            await asyncio.sleep(self.options.rotation_check_seconds)
            try:
                if await self.refresh() and on_change is not None:
                    await on_change(self.ca_bundle())
            except Exception:  # keep serving the current certificate; retry next round
                log.exception("pod webhook certificate refresh failed")

    def ca_bundle(self) -> bytes | None:
        return self.paths.ca.read_bytes() if self.paths.ca.is_file() else None

    def _stat(self) -> tuple[float, float]:
        return (self.paths.cert.stat().st_mtime, self.paths.key.stat().st_mtime)

    def _load(self) -> None:
        assert self._ssl is not None
        self._mtimes = self._stat()
        self._ssl.load_cert_chain(self.paths.cert, self.paths.key)

    def _handler(
        self, review: Callable[[Any, EnvironmentReader], Awaitable[dict[str, Any]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                body = json.loads(await request.read())
            except (ValueError, UnicodeDecodeError, RecursionError):
                return web.json_response(deny("", "ironflow: not an AdmissionReview", code=400), status=400)
            if not isinstance(body, dict):
                return web.json_response(deny("", "ironflow: not an AdmissionReview", code=400), status=400)
            try:
                result = await review(body, self._read)
            except Exception as exc:  # fail closed, and without the exception's text (it may quote the pod)
                failed = type(exc).__name__
                decisions.log(logging.ERROR, "admission review failed: %s; the pod is refused", failed)
                message = f"ironflow: internal error ({type(exc).__name__}); the pod is refused"
                result = deny(review_uid(body), message, 500)
            return web.Response(text=json.dumps(result), content_type="application/json")

        return handle

    @web.middleware
    async def _only_named_clients(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peercert") if request.transport is not None else None
        if not client_name_allowed(peer, self.options.client_names):
            log.debug("refused a webhook client whose certificate names none of the allowed clients")
            return web.json_response(deny("", "ironflow: this client may not call the webhook"), status=403)
        return await handler(request)

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")
