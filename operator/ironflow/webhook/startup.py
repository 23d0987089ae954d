"""Starts the pod webhook with the operator and stops it with the operator.

A startup handler, so the webhook serves before kopf handles anything, and a cleanup handler,
so the port is released on shutdown. The registered configuration is left in place on purpose:
while the operator is down, declaring pods are refused (nobody can inject their values) and
every other pod is created as usual (it never reaches the webhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final

import kopf

from ironflow.controller import namespaces, state, webhook_trust
from ironflow.controller.projected import ProjectedCache
from ironflow.controller.state import Cache, Runtime
from ironflow.controller.webhook_certs import CertKeeper
from ironflow.controller.webhook_options import current_options
from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView, build_view
from ironflow.core.model import CONFIG_KIND, SECRET_KIND
from ironflow.k8s.admission import READ_DEADLINE_SECONDS, stripped
from ironflow.k8s.async_client import Kube
from ironflow.webhook.certs import CertPaths
from ironflow.webhook.configuration import CONFIGURATION_NAME
from ironflow.webhook.lru import LruDict
from ironflow.webhook.runner import OwnedProbe, RunningWebhook, start_webhook
from ironflow.webhook.secret_certs import SecretCerts
from ironflow.webhook.server import WebhookOptions

log = logging.getLogger("ironflow.webhook")
_running: list[RunningWebhook] = []
_keepers: list[asyncio.Task[None]] = []
# Namespaces whose derived view is kept; beyond it the least recently used is derived again.
DERIVED_VIEWS_BOUND: Final = 1024


class CachedEnvironments:
    """The webhook's view of a namespace as the operator holds it (listed once, kept by watch).

    Stripped and resolved once per revision of the namespace, so a burst of pods (a Deployment
    scaling up) costs one derivation, not one per pod. Only namespaces the operator `known`s to
    exist and serve are primed into its cache; for any other the answer is None and the webhook
    lists live, keeping nothing: a namespace string from a request never becomes state. The
    derived views are an LRU of `bound` namespaces."""

    def __init__(
        self, cache: Cache, kube: Kube, known: Callable[[str], bool], bound: int = DERIVED_VIEWS_BOUND
    ) -> None:
        self._cache, self._kube, self._known = cache, kube, known
        self.derived: LruDict[str, tuple[int, EnvironmentView]] = LruDict(bound)

    async def __call__(self, namespace: str) -> EnvironmentView | None:
        if not self._known(namespace):
            return None
        cache = self._cache
        # A timeout scope, not wait_for: wait_for runs the priming in a new task, so every admission
        # yielded to the event loop once even when the namespace was long primed, and with the
        # API server's concurrent calls each decision then waited for the others
        # (measured: it was most of the webhook's p99 under load).
        async with asyncio.timeout(READ_DEADLINE_SECONDS):
            await cache.prime(self._kube, namespace)
        revision = cache.revision(namespace)
        memo = self.derived.get(namespace)
        if memo is None or memo[0] != revision:
            resources = (
                stripped(cache.bodies(SECRET_KIND, namespace), "sealed"),
                stripped(cache.bodies(CONFIG_KIND, namespace), "values"),
            )
            memo = (revision, build_view(namespace, *resources))
            self.derived.put(namespace, memo)
        return memo[1]


def owned_in(projected: ProjectedCache) -> OwnedProbe:
    """Whether the projected object of a resource is, as the operator's own watch saw it last,
    labelled as ours and controlled by that resource's uid: then admission needs no GET for it.

    Only a positive answer is trusted. The watch trails the API server by the time an event takes,
    so an object projected a moment ago may be missing here: the webhook then reads it, as it
    always did. An object outside the label-filtered watch (someone else's) is never held here.
    """

    def owned(kind: Kind, namespace: str, resource: str, uid: str) -> bool:
        actual = projected.get(SECRET_KIND if kind == "secret" else CONFIG_KIND, namespace, resource)
        return (actual is not None and actual.exists and actual.labelled
                and bool(uid) and actual.owner_uid == uid)

    return owned


@kopf.on.startup()
async def start_pod_webhook(**_: Any) -> None:
    options = current_options()
    if options is None:
        log.info("pod webhook not started: neither --webhook-url nor --webhook-cert-dir given")
        return
    runtime = state.current()
    keeper = _cert_keeper(options, runtime)
    if keeper is not None:  # self-managed: serve only once the Secret holds a pair
        await keeper.until_present()
    try:
        patterns, served = runtime.options.namespaces, runtime.served_namespaces
        running = await start_webhook(
            options,
            runtime.kube,
            runtime.options.operator_namespace,
            serves=lambda namespace: namespaces.matches(patterns, namespace),
            cached=CachedEnvironments(runtime.cache, runtime.kube, known=served.__contains__),
            may_register=runtime.leadership.is_leading,
            owned=owned_in(runtime.projected),
        )
        _running.append(running)
        # Every replica serves; only the leader registers its URL (dev/tests), again at each gain.
        if running.register is not None:
            register = running.register
            runtime.leadership.on_gain(lambda: register(running.server.ca_bundle()))
        if keeper is not None:
            refresh = running.server.refresh
            _keepers.append(runtime.supervisor.start("webhook-certs", lambda: keeper.forever(refresh)))
            runtime.leadership.on_gain(lambda: keeper.once(refresh))
            # ready only once the configuration trusts what this replica serves (webhook_trust.py)
            runtime.webhook_untrusted = "not checked yet"
            serving = CertPaths(options.cert_dir).cert
            _keepers.append(asyncio.create_task(webhook_trust.watch(runtime, CONFIGURATION_NAME, serving),
                                                name="ironflow-webhook-trust"))
    except OSError as exc:  # port taken, unreadable certificates: a configuration error, not transient
        raise kopf.PermanentError(
            f"pod webhook cannot serve on {options.host}:{options.port}: {exc}"
        ) from exc


def _cert_keeper(options: WebhookOptions, runtime: Runtime) -> CertKeeper | None:
    if options.cert_secret is None:
        return None
    namespace = runtime.options.operator_namespace
    certs = SecretCerts(namespace, options.cert_secret, CONFIGURATION_NAME, tuple(options.hosts))
    return CertKeeper(certs, runtime.kube, options.cert_dir, runtime.leadership.is_leading,
                      standby=lambda: runtime.leadership.report.text)


@kopf.on.cleanup()
async def stop_pod_webhook(**_: Any) -> None:
    while _keepers:
        task = _keepers.pop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    while _running:
        await _running.pop().stop()
