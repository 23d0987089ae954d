"""Start the pod webhook inside the operator: serve, register (dev/tests), rotate until stopped.

Registration is done here only when the API server reaches the operator by URL (`make run`,
tests: loopback with our own CA). In-cluster installs register through the chart's template,
rendered from the same `render_configuration`, with the CA injected by cert-manager. The
configuration is deliberately left in place when the operator stops: declaring pods must fail
closed while nobody can inject their values, and pods that declare nothing never reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ironflow.k8s.admission import apply_webhook_configuration
from ironflow.k8s.async_client import Kube
from ironflow.webhook.admission import EnvironmentReader
from ironflow.webhook.configuration import ClientTarget, WebhookParameters, render_configuration
from ironflow.webhook.server import WebhookOptions, WebhookServer

log = logging.getLogger("ironflow.webhook")


@dataclass
class RunningWebhook:
    server: WebhookServer
    task: asyncio.Task[None]
    register: Callable[[bytes | None], Awaitable[None]] | None = None

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.server.stop()


async def start_webhook(
    options: WebhookOptions,
    kube: Kube,
    operator_namespace: str,
    read: EnvironmentReader,
    excluded_namespaces: Sequence[str] = ("kube-system",),
    may_register: Callable[[], bool] | None = None,
) -> RunningWebhook:
    """Serving (and registered, with a URL) when this returns; stop() ends rotation and serving.

    `read` answers admission's questions about an environment (reader.py).
    """
    server = WebhookServer(options, read)
    await server.start()

    async def register(ca: bytes | None) -> None:
        if options.url is None or (may_register is not None and not may_register()):
            return  # no URL (the chart registers), or a standby replica (the leader registers)
        body = render_configuration(
            WebhookParameters(
                target=ClientTarget(url=options.url),
                operator_namespace=operator_namespace,
                ca_bundle=ca,
                excluded_namespaces=tuple(excluded_namespaces),
            )
        )
        await apply_webhook_configuration(kube, body)
        log.info("registered pod webhook configuration for %s", options.url)

    try:
        await register(server.ca_bundle())
    except Exception:
        await server.stop()
        raise
    task = asyncio.create_task(server.rotate_forever(register), name="ironflow-webhook-rotation")
    return RunningWebhook(server=server, task=task, register=register)
