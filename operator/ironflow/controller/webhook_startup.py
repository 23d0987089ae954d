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
from ironflow.controller.webhook_options import current_options
from ironflow.core.model import CONFIG_KIND, SECRET_KIND
from ironflow.k8s.admission import READ_DEADLINE_SECONDS, stripped
from ironflow.webhook.runner import Resources, RunningWebhook, start_webhook

log = logging.getLogger("ironflow.webhook")
_running: list[RunningWebhook] = []


_derived: dict[str, tuple[int, Resources]] = {}


async def cached_environment(namespace: str) -> Resources:
    """The namespace's resources as the operator holds them (listed once, then kept by watch).

    The same object is returned until a body of the namespace changes, so a burst of pods (a
    Deployment scaling up) strips the namespace once and the webhook can reuse its view."""
    cache = state.current().cache
    await asyncio.wait_for(cache.prime(state.current().kube, namespace), timeout=READ_DEADLINE_SECONDS)
    revision = cache.revision(namespace)
    known = _derived.get(namespace)
    if known is None or known[0] != revision:
        resources = (
            stripped(cache.bodies(SECRET_KIND, namespace), "sealed"),
            stripped(cache.bodies(CONFIG_KIND, namespace), "values"),
        )
        known = _derived[namespace] = (revision, resources)
    return known[1]


@kopf.on.startup()
async def start_pod_webhook(**_: Any) -> None:
    options = current_options()
    if options is None:
        log.info("pod webhook not started: neither --webhook-url nor --webhook-cert-dir given")
        return
    runtime = state.current()
    try:
        patterns = runtime.options.namespaces
        _running.append(
            await start_webhook(
                options,
                runtime.kube,
                runtime.options.operator_namespace,
                serves=lambda namespace: namespaces.matches(patterns, namespace),
                cached=cached_environment,
            )
        )
    except OSError as exc:  # port taken, unreadable certificates: a configuration error, not transient
        raise kopf.PermanentError(
            f"pod webhook cannot serve on {options.host}:{options.port}: {exc}"
        ) from exc


@kopf.on.cleanup()
async def stop_pod_webhook(**_: Any) -> None:
    while _running:
        await _running.pop().stop()
