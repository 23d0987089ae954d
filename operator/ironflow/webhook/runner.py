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
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView, build_view
from ironflow.k8s.admission import (
    apply_webhook_configuration,
    foreign_projections,
    list_environment,
    missing_secrets,
)
from ironflow.k8s.async_client import Kube
from ironflow.webhook.admission import EnvironmentNotServed, EnvironmentReader
from ironflow.webhook.configuration import ClientTarget, WebhookParameters, render_configuration
from ironflow.webhook.server import WebhookOptions, WebhookServer

log = logging.getLogger("ironflow.webhook")


Resources = tuple[list[dict[str, Any]], list[dict[str, Any]]]
# namespace -> its (IronflowSecrets, IronflowConfigs) stripped of values, and their view, from
# memory (the operator's cache); None when the operator does not hold that namespace
CachedLister = Callable[[str], Awaitable[tuple[Resources, EnvironmentView] | None]]


def environment_reader(
    kube: Kube, serves: Callable[[str], bool] | None = None, cached: CachedLister | None = None
) -> EnvironmentReader:
    """Reads for admission, from the operator's cache when it has one, live otherwise.

    The cache decides only admissions: a pod whose declared names the cache does not know is
    checked again against a live listing, because the cache may trail a resource created a
    moment ago (the pod and its IronflowSecret applied together). So a busy namespace costs no
    LIST per pod, and no pod is refused on stale data.
    """

    async def listed(
        namespace: str, declared: Collection[tuple[Kind, str]]
    ) -> tuple[Resources, EnvironmentView]:
        found = await cached(namespace) if cached is not None else None
        if found is not None:
            resources, view = found
            if all(view.source(kind, name) is not None for kind, name in declared):
                return resources, view
        resources = await list_environment(kube, namespace)
        return resources, build_view(namespace, *resources)

    async def read(
        namespace: str, declared: Collection[tuple[Kind, str]], *, secrets: Collection[str] = ()
    ) -> EnvironmentView:
        if serves is not None and not serves(namespace):
            raise EnvironmentNotServed(namespace)
        (listed_secrets, configs), view = await listed(namespace, declared)
        # Only the objects this pod would read need their ownership checked: one metadata GET per
        # defining resource the pod draws on, not one per resource in the namespace.
        sources = {(kind, view.source(kind, name)) for kind, name in declared}
        drawn_on = {
            kind: [item for item in items if (kind, (item.get("metadata") or {}).get("name")) in sources]
            for kind, items in (("secret", listed_secrets), ("config", configs))
        }
        foreign = await foreign_projections(kube, namespace, drawn_on)
        if foreign:
            view = build_view(namespace, listed_secrets, configs, foreign=foreign)
        unmanaged = [n for n in secrets if n not in view.resources.get("secret", frozenset())]
        if unmanaged:  # enforcement: a Secret referred to must exist (core/enforcement.py)
            missing = await missing_secrets(kube, namespace, unmanaged)
            view = dataclasses.replace(view, missing_secrets=frozenset(missing))
        return view

    return read


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
    excluded_namespaces: Sequence[str] = ("kube-system",),
    serves: Callable[[str], bool] | None = None,
    cached: CachedLister | None = None,
    may_register: Callable[[], bool] | None = None,
) -> RunningWebhook:
    """Serving (and registered, with a URL) when this returns; stop() ends rotation and serving.

    `serves` tells whether the operator serves a namespace (--namespace): declaring pods elsewhere
    are refused, since nothing would ever be projected for them.
    """
    server = WebhookServer(options, environment_reader(kube, serves, cached))
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
