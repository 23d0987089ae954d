"""Starts the pod webhook with the operator and stops it with the operator.

The controller starts it from a kopf startup handler, so the webhook serves before kopf handles
anything, and stops it from a cleanup handler, so the port is released on shutdown
(controller/pod_webhook.py). The registered configuration is left in place on purpose: while the
operator is down, declaring pods are refused (nobody can inject their values) and every other pod
is created as usual (it never reaches the webhook).

Everything one start made (the server, the certificate keeper, the trust watch) belongs to its
`PodWebhook`, and `stop` ends exactly those: two operators in one process (tests) never share one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ironflow.webhook import trust
from ironflow.webhook.cert_keeper import CertKeeper
from ironflow.webhook.certs import CertPaths
from ironflow.webhook.configuration import CONFIGURATION_NAME
from ironflow.webhook.host import WebhookHost
from ironflow.webhook.reader import cached_reader
from ironflow.webhook.runner import RunningWebhook, start_webhook
from ironflow.webhook.secret_certs import SecretCerts
from ironflow.webhook.server import WebhookOptions

log = logging.getLogger("ironflow.webhook")


class PodWebhook:
    def __init__(self, options: WebhookOptions, host: WebhookHost) -> None:
        self.options, self.host = options, host
        self.running: RunningWebhook | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Serving when this returns; OSError when it cannot (port taken, unreadable certificates)."""
        options, host = self.options, self.host
        leadership = host.leadership
        keeper = self._cert_keeper()
        if keeper is not None:  # self-managed: serve only once the Secret holds a pair
            await keeper.until_present()
        running = self.running = await start_webhook(
            options,
            host.kube,
            host.operator_namespace,
            cached_reader(host.kube, host.caches),
            may_register=leadership.is_leading,
        )
        # Every replica serves; only the leader registers its URL (dev/tests), again at each gain.
        if running.register is not None:
            register = running.register
            leadership.on_gain(lambda: register(running.server.ca_bundle()))
        if keeper is not None:
            refresh = running.server.refresh
            self._tasks.append(host.supervisor.start("webhook-certs", lambda: keeper.forever(refresh)))
            leadership.on_gain(lambda: keeper.once(refresh))
            # ready only once the configuration trusts what this replica serves (trust.py)
            host.readiness.webhook_untrusted = "not checked yet"
            serving = CertPaths(options.cert_dir).cert
            self._tasks.append(asyncio.create_task(trust.watch(host, CONFIGURATION_NAME, serving),
                                                   name="ironflow-webhook-trust"))

    def _cert_keeper(self) -> CertKeeper | None:
        options, host = self.options, self.host
        if options.cert_secret is None:
            return None
        certs = SecretCerts(host.operator_namespace, options.cert_secret, CONFIGURATION_NAME,
                            tuple(options.hosts))
        return CertKeeper(certs, host.kube, options.cert_dir, host.leadership)

    async def stop(self) -> None:
        while self._tasks:
            task = self._tasks.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.running is not None:
            running, self.running = self.running, None
            await running.stop()
