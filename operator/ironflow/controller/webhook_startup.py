"""Starts the pod webhook with the operator and stops it with the operator.

A startup handler, so the webhook serves before kopf handles anything, and a cleanup handler,
so the port is released on shutdown. The registered configuration is left in place on purpose:
while the operator is down, declaring pods are refused (nobody can inject their values) and
every other pod is created as usual (it never reaches the webhook).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from ironflow.controller import namespaces, state
from ironflow.controller.state import Cache
from ironflow.controller.webhook_options import current_options
from ironflow.core.environment_view import EnvironmentView, build_view
from ironflow.core.model import CONFIG_KIND, SECRET_KIND
from ironflow.k8s.admission import READ_DEADLINE_SECONDS, stripped
from ironflow.k8s.async_client import Kube
from ironflow.webhook.runner import CachedLister, Resources, RunningWebhook, start_webhook

log = logging.getLogger("ironflow.webhook")
_running: list[RunningWebhook] = []


def cached_environments(cache: Cache, kube: Kube) -> CachedLister:
    """The webhook's view of a namespace as the operator holds it (listed once, kept by watch).

    Stripped and resolved once per revision of the namespace, so a burst of pods (a Deployment
    scaling up) costs one derivation, not one per pod."""
    derived: dict[str, tuple[int, tuple[Resources, EnvironmentView]]] = {}

    async def read(namespace: str) -> tuple[Resources, EnvironmentView]:
        await asyncio.wait_for(cache.prime(kube, namespace), timeout=READ_DEADLINE_SECONDS)
        revision = cache.revision(namespace)
        known = derived.get(namespace)
        if known is None or known[0] != revision:
            resources = (
                stripped(cache.bodies(SECRET_KIND, namespace), "sealed"),
                stripped(cache.bodies(CONFIG_KIND, namespace), "values"),
            )
            known = derived[namespace] = (revision, (resources, build_view(namespace, *resources)))
        return known[1]

    return read


@kopf.on.startup()
async def start_pod_webhook(**_: Any) -> None:
    options = current_options()
    if options is None:
        log.info("pod webhook not started: neither --webhook-url nor --webhook-cert-dir given")
        return
    runtime = state.current()
    try:
        patterns = runtime.options.namespaces
        running = await start_webhook(
            options,
            runtime.kube,
            runtime.options.operator_namespace,
            serves=lambda namespace: namespaces.matches(patterns, namespace),
            cached=cached_environments(runtime.cache, runtime.kube),
            may_register=runtime.leadership.is_leading,
        )
        _running.append(running)
        # Every replica serves; only the leader registers its URL (dev/tests), again at each gain.
        if running.register is not None:
            register = running.register
            runtime.leadership.on_gain(lambda: register(running.server.ca_bundle()))
    except OSError as exc:  # port taken, unreadable certificates: a configuration error, not transient
        raise kopf.PermanentError(
            f"pod webhook cannot serve on {options.host}:{options.port}: {exc}"
        ) from exc


@kopf.on.cleanup()
async def stop_pod_webhook(**_: Any) -> None:
    while _running:
        await _running.pop().stop()
