"""Readiness waits until the API server can call this replica's webhook with the configuration's CA.

With self-managed certificates (`--webhook-cert-secret`) a replica serves the pair from the Secret,
and the leader sets the configuration's caBundle. The two can disagree: after `helm uninstall` and
a reinstall, the Secret (kept) still holds the old pair while the new configuration has no
caBundle until a leader is elected and trusts it. A replica that reported ready then made
`helm install --wait` return while every declaring pod was refused ("x509: certificate signed by
unknown authority"). So a replica reads the configuration and is ready only once every webhook's
caBundle holds the CA that signed the certificate it serves (core/ca_bundle.py), checked often
until then and every half minute after (a CA rotation keeps the old CA in the bundle meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Final

from ironflow.core.ca_bundle import untrusted
from ironflow.k8s.async_client import ApiError
from ironflow.k8s.webhook_configs import get_webhook_configuration
from ironflow.webhook.host import WebhookHost

log = logging.getLogger("ironflow.webhook")
UNTIL_TRUSTED: Final = 1.0  # seconds between checks while not trusted
WHILE_TRUSTED: Final = 30.0


async def problem(host: WebhookHost, configuration: str, served: Path) -> str | None:
    body = await get_webhook_configuration(host.kube, configuration)
    if body is None:
        return f"webhook configuration {configuration} does not exist"
    webhooks: list[dict[str, Any]] = body.get("webhooks") or []
    bundles = {str(w.get("name")): (w.get("clientConfig") or {}).get("caBundle") for w in webhooks}
    reason = untrusted(bundles, await asyncio.to_thread(served.read_bytes))
    if reason is None:
        return None
    return reason if host.leadership.is_leading() else f"{reason} (the leader sets it)"


async def watch(host: WebhookHost, configuration: str, served: Path) -> None:
    """Keeps `host.readiness.webhook_untrusted` current; a failed read keeps the last answer."""
    said: str | None = None
    readiness = host.readiness
    while True:
        try:
            readiness.webhook_untrusted = await problem(host, configuration, served)
        except (ApiError, OSError, TimeoutError) as exc:
            log.debug("webhook configuration not read: %s", exc)
        reason = readiness.webhook_untrusted
        if reason != said:
            if reason is None:
                log.info("webhook configuration %s trusts the served certificate: ready", configuration)
            else:
                log.warning("not ready: the API server cannot call this replica's webhook yet: %s", reason)
            said = reason
        await asyncio.sleep(UNTIL_TRUSTED if reason else WHILE_TRUSTED)
