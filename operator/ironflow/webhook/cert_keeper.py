"""Keeps the self-managed webhook certificate (`--webhook-cert-secret`) current on every replica.

Before the webhook serves, a replica waits until the Secret holds a pair (the leader makes it,
so on a fresh install the first leader's first round is what every replica waits for). Then,
every `interval` and at each leadership gain, the leader renews the pair when due and sets the
configuration's caBundle, and every replica copies the pair and reloads it when it changed.
Failures are logged and retried next round: the current certificate keeps being served.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from ironflow.k8s.async_client import ApiError, Kube
from ironflow.webhook.host import Leader
from ironflow.webhook.secret_certs import SecretCerts

log = logging.getLogger("ironflow.webhook")
INTERVAL = 60.0


class CertKeeper:
    def __init__(self, certs: SecretCerts, kube: Kube, serving: Path, leader: Leader) -> None:
        self.certs, self.kube, self.serving, self.leader = certs, kube, serving, leader
        self._work = Path(tempfile.mkdtemp(prefix="ironflow-webhook-ca-"))  # the leader's CA key

    async def round(self) -> bool:
        """One pass: the leader makes/renews and trusts; everyone copies. True when serving files exist."""
        if self.leader.is_leading():
            ca_bundle = await self.certs.ensure(self.kube, self._work)
            await self.certs.trust(self.kube, ca_bundle)
        return await self.certs.serve_from_secret(self.kube, self.serving)

    async def until_present(self, poll: float = 1.0, say_every: float = 10.0) -> None:
        """Block until this replica has a pair to serve (the leader may not be elected yet); says
        every `say_every` seconds what it waits for, and who holds the Lease if not this replica."""
        said = time.monotonic()
        while True:
            try:
                if await self.round():
                    return
            except (ApiError, OSError, ValueError) as exc:
                log.warning("webhook certificate not ready: %s; retrying", type(exc).__name__)
            if time.monotonic() - said >= say_every:
                said = time.monotonic()
                holder = self.leader.report.text  # who holds the Lease, when not this replica
                log.warning("webhook not served yet: waiting for the leader to issue its certificate into "
                            "Secret %s/%s%s", self.certs.namespace, self.certs.secret,
                            f"; {holder}" if holder else "")
            await asyncio.sleep(poll)

    async def forever(self, reload: Callable[[], Awaitable[bool]], interval: float = INTERVAL) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.once(reload)

    async def once(self, reload: Callable[[], Awaitable[bool]]) -> None:
        try:
            if await self.round():
                await reload()
        except Exception as exc:  # keep serving the current pair; next round retries
            log.warning("webhook certificate round failed: %s; retrying", type(exc).__name__)
