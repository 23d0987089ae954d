"""The HTTPS server the API server calls for declaring pods, with live certificate reload.

An aiohttp server of our own rather than kopf's admission support: the configuration needs
matchConditions and a namespaceSelector that kopf's managed configuration cannot express, and
certificates must rotate without a restart. Rotation reloads the same SSLContext in place, so
connections already open finish on the old certificate and new ones get the new certificate.
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

from ironflow.webhook.admission import EnvironmentReader, deny, review_declarations, review_enforcement
from ironflow.webhook.certs import DEFAULT_HOSTS, CertPaths, ensure_certificates
from ironflow.webhook.configuration import ENFORCE_PATH, MUTATE_PATH

log = logging.getLogger("ironflow.webhook")

MAX_REVIEW_BYTES = 3 * 1024 * 1024  # a pod is at most ~1.5 MiB in etcd; the review wraps it
CaChanged = Callable[[bytes | None], Awaitable[None]]


@dataclass(frozen=True)
class WebhookOptions:
    host: str = "127.0.0.1"
    port: int = 9443
    cert_dir: Path = Path("/tmp/ironflow-webhook-certs")  # noqa: S108  # dev default; 0700, ours only
    url: str | None = None  # when set, the operator registers the configuration with this URL
    hosts: Sequence[str] = field(default_factory=lambda: DEFAULT_HOSTS)
    rotation_check_seconds: float = 3600.0


class WebhookServer:
    def __init__(self, options: WebhookOptions, read: EnvironmentReader) -> None:
        self.options = options
        self.paths = CertPaths(options.cert_dir)
        self._read = read
        self._ssl: ssl.SSLContext | None = None
        self._runner: web.AppRunner | None = None
        self._mtimes: tuple[float, float] = (0.0, 0.0)
        self.port = options.port

    async def start(self) -> None:
        await asyncio.to_thread(ensure_certificates, self.paths, self.options.hosts)
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        self._load()
        app = web.Application(client_max_size=MAX_REVIEW_BYTES)
        app.router.add_post(MUTATE_PATH, self._handler(review_declarations))
        app.router.add_post(ENFORCE_PATH, self._handler(review_enforcement))
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port, ssl_context=self._ssl)
        await site.start()
        for address in self._runner.addresses:  # the bound port, when asked for port 0
            self.port = int(address[1])
        log.info("pod webhook serving on https://%s:%d", self.options.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def refresh(self) -> bool:
        """Renew (managed) or pick up (provided) certificates; True when the serving cert changed."""
        await asyncio.to_thread(ensure_certificates, self.paths, self.options.hosts)
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
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                return web.json_response(deny("", "ironflow: not an AdmissionReview", code=400), status=400)
            if not isinstance(body, dict):
                return web.json_response(deny("", "ironflow: not an AdmissionReview", code=400), status=400)
            result = await review(body, self._read)
            return web.Response(text=json.dumps(result), content_type="application/json")

        return handle

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")
