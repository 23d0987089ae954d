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
from ironflow.core.environment_view import EnvironmentView, build_view, foreign_keys
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
# namespace -> its view as the operator's cache holds it (values stripped before it is derived);
# None when the operator does not hold that namespace
CachedLister = Callable[[str], Awaitable[EnvironmentView | None]]
# (kind, namespace, resource, resource uid) -> True only when the operator's projected-object cache
# (its own label-filtered list+watch) holds the object of that name, labelled and controlled by that
# uid. False means "not known to be owned" (absent, not seen yet, someone else's, not synced): read.
OwnedProbe = Callable[[Kind, str, str, str], bool]


def environment_reader(
    kube: Kube,
    serves: Callable[[str], bool] | None = None,
    cached: CachedLister | None = None,
    owned: OwnedProbe | None = None,
) -> EnvironmentReader:
    """Reads for admission, from the operator's caches when it has them, live otherwise.

    The cache decides only admissions: a pod whose declared names the cache does not know is
    checked again against a live listing, because the cache may trail a resource created a
    moment ago (the pod and its IronflowSecret applied together); so is one whose status in the
    cache does not describe the resource's current generation (another replica may have projected
    it a moment ago). So a busy namespace costs no LIST per pod, and no pod is refused on stale data.

    Ownership works the same way: the projected-object cache can only say "owned by this
    resource"; anything else (absent, a projection the watch has not delivered yet, an object
    outside the watch) costs the metadata GET it always did, and the GET decides. So a pod is
    never pointed at an object not owned by its resource, and none that a GET would admit is
    refused because the cache trails.
    """

    async def listed(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
        view = await cached(namespace) if cached is not None else None
        if view is not None and all(view.source(kind, name) is not None and view.settled(kind, name)
                                    for kind, name in declared):
            return view
        resources = await list_environment(kube, namespace)
        return build_view(namespace, *resources)

    async def read(
        namespace: str, declared: Collection[tuple[Kind, str]], *, secrets: Collection[str] = ()
    ) -> EnvironmentView:
        if serves is not None and not serves(namespace):
            raise EnvironmentNotServed(namespace)
        view = await listed(namespace, declared)
        # Only the objects this pod would read need their ownership checked, and only those the
        # projected cache does not show owned by their resource cost a metadata GET.
        drawn = {(kind, source) for kind, name in declared if (source := view.source(kind, name))}
        unproven: dict[str, list[dict[str, Any]]] = {}
        for kind, resource in sorted(drawn):
            uid = view.uids.get(kind, {}).get(resource)
            if owned is None or uid is None or not owned(kind, namespace, resource, uid):
                unproven.setdefault(kind, []).append({"metadata": {"name": resource, "uid": uid}})
        foreign = await foreign_projections(kube, namespace, unproven) if unproven else set()
        if foreign:
            view = dataclasses.replace(view, foreign=view.foreign | foreign_keys(foreign))
        unmanaged = [n for n in secrets if n not in view.resources.get("secret", frozenset())]
        if unmanaged:  # enforcement: a Secret referred to must exist (core/enforcement.py); not
            # ours, so outside the projected cache's watch: one metadata GET each, as before
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
    owned: OwnedProbe | None = None,
) -> RunningWebhook:
    """Serving (and registered, with a URL) when this returns; stop() ends rotation and serving.

    `serves` tells whether the operator serves a namespace (--namespace): declaring pods elsewhere
    are refused, since nothing would ever be projected for them.
    """
    server = WebhookServer(options, environment_reader(kube, serves, cached, owned))
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
