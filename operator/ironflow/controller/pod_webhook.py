"""The wiring of the pod webhook (ironflow.webhook): what it is handed, and when it starts and stops.

A kopf startup handler, so the webhook serves before kopf handles anything, and a cleanup
handler, so the port is released on shutdown. The webhook gets the runtime's client, caches,
leader election and supervisor as the protocols of webhook/host.py; the running webhook is kept
in kopf's memo, which the two handlers of one operator share.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from ironflow.controller import state
from ironflow.webhook.host import WebhookHost
from ironflow.webhook.reader import OperatorCaches
from ironflow.webhook.startup import PodWebhook

log = logging.getLogger("ironflow.webhook")


def host_of(runtime: state.Runtime) -> WebhookHost:
    caches = OperatorCaches(
        patterns=runtime.options.namespaces,
        served=runtime.served_namespaces,
        resources=runtime.cache,
        projected=runtime.projected,
    )
    return WebhookHost(
        kube=runtime.kube,
        operator_namespace=runtime.options.operator_namespace,
        caches=caches,
        leadership=runtime.leadership,
        supervisor=runtime.supervisor,
        readiness=runtime,
    )


@kopf.on.startup()
async def start_pod_webhook(memo: Any, **_: Any) -> None:
    runtime = state.runtime_of(memo)
    options = runtime.options.webhook
    if options is None:
        log.info("pod webhook not started: neither --webhook-url nor --webhook-cert-dir given")
        return
    webhook = memo.pod_webhook = PodWebhook(options, host_of(runtime))
    try:
        await webhook.start()
    except OSError as exc:  # port taken, unreadable certificates: a configuration error, not transient
        raise kopf.PermanentError(
            f"pod webhook cannot serve on {options.host}:{options.port}: {exc}"
        ) from exc


@kopf.on.cleanup()
async def stop_pod_webhook(memo: Any, **_: Any) -> None:
    webhook: PodWebhook | None = getattr(memo, "pod_webhook", None)
    if webhook is not None:
        await webhook.stop()
