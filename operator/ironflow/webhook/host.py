"""What the operator hands the webhook at start-up, typed here so the webhook never imports it.

The controller builds one `WebhookHost` from its runtime (controller/pod_webhook.py); its leader
election, supervisor and caches are simply objects with the methods these protocols name. Beside
the caches admission reads (reader.OperatorCaches), the start-up needs whether this replica leads
(only the leader registers or renews), a way to run supervised tasks, and somewhere to say why
the replica is not ready while the API server cannot call it yet (trust.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from ironflow.k8s.async_client import Kube
from ironflow.webhook.reader import OperatorCaches


class Standing(Protocol):
    @property
    def text(self) -> str | None:
        """Who holds the Lease, when not this replica (None while it leads or nobody does)."""


class Leader(Protocol):
    def is_leading(self) -> bool: ...
    def on_gain(self, hook: Callable[[], Awaitable[None]]) -> None: ...

    @property
    def report(self) -> Standing: ...


class Tasks(Protocol):
    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> asyncio.Task[None]: ...


class Readiness(Protocol):
    # Why the API server cannot call this replica's webhook yet; None once it can.
    webhook_untrusted: str | None


@dataclass(frozen=True)
class WebhookHost:
    kube: Kube
    operator_namespace: str
    caches: OperatorCaches
    leadership: Leader
    supervisor: Tasks
    readiness: Readiness
