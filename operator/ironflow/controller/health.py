"""Liveness, readiness and metrics over HTTP.

Liveness answers as long as the event loop does (a blocked loop is the failure worth a restart);
readiness waits for the master key to be read, kopf's watches to start, the cache to hold every
served namespace and (self-managed certificates) the webhook configuration to trust the certificate
this replica serves, so a rollout does not route traffic, or count as done, before the operator can
act. Readiness does not depend on leading: a standby serves the webhook from its own cache. The
body says who holds the leader Lease when this replica does not (controller/standby_report.py),
or with --sharding this replica's share (controller/shares.py).
A supervised task that keeps failing (controller/supervisor.py) makes /readyz answer 503 naming
it, and /healthz too when it is one whose cure is a new process.
"""

from __future__ import annotations

from aiohttp import web

from ironflow import metrics
from ironflow.controller.state import Runtime


def _lease_line(runtime: Runtime) -> str:
    leadership = runtime.leadership
    if not leadership.options.enabled:
        return ""
    shares = runtime.shares
    if shares.enabled:  # every replica writes its share; the leader Lease is the cluster-wide duties
        # not leading: who holds the leader Lease, as a standby would say (an operator outside
        # this release, typically, which also pauses the shares)
        role = ("leader" if leadership.is_leading()
                else f"not the leader ({leadership.report.text})" if leadership.report.text
                else "not the leader")
        paused = f"; paused: {shares.paused}" if shares.paused else ""
        return (f"share: {len(shares.owned())} namespace(s) as replica {shares.replica}, "
                f"{len(shares.membership.view(shares.clock()))} live replica(s); {role}{paused}\n")
    if leadership.is_leading():
        return f"leader: this replica ({leadership.identity})\n"
    return f"{leadership.report.text or 'standby: no holder of the leader Lease seen yet'}\n"


def app(runtime: Runtime, *, health: bool, metrics_endpoint: bool) -> web.Application:
    application = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        failing = runtime.supervisor.failing(liveness=True)
        if failing:
            return web.Response(status=503, text="; ".join(_failing(failing)) + "\n")
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        failing = runtime.supervisor.failing()
        lease = _lease_line(runtime)
        if runtime.ready() and not failing:
            return web.Response(text=f"ready\n{lease}")
        waiting = [what for what, done in (("master key", runtime.keys_loaded.is_set()),
                                           ("watches", runtime.kopf_ready.is_set()),
                                           ("cache", runtime.cache_synced.is_set())) if not done]
        if runtime.webhook_untrusted is not None:
            waiting.append(f"the webhook to be callable ({runtime.webhook_untrusted})")
        parts = [f"waiting for {', '.join(waiting)}"] if waiting else []
        return web.Response(status=503, text="; ".join([*parts, *_failing(failing)]) + f"\n{lease}")

    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), content_type="text/plain", charset="utf-8")

    if health:
        application.router.add_get("/healthz", healthz)
        application.router.add_get("/readyz", readyz)
    if metrics_endpoint:
        application.router.add_get("/metrics", metrics_view)
    return application


def _failing(failing: dict[str, str]) -> list[str]:
    """`task NAME failing: Type (restarted N time(s))`, joined on one line: `ironflow status` shows it."""
    return [f"task {name} failing: {problem}" for name, problem in failing.items()]


async def serve(runtime: Runtime) -> list[web.AppRunner]:
    opts = runtime.options
    ports: dict[int, tuple[bool, bool]] = {}
    if opts.health_port:
        ports[opts.health_port] = (True, False)
    if opts.metrics_port:
        health, _ = ports.get(opts.metrics_port, (False, False))
        ports[opts.metrics_port] = (health, True)
    runners = []
    for port, (health, metrics_endpoint) in ports.items():
        runner = web.AppRunner(app(runtime, health=health, metrics_endpoint=metrics_endpoint),
                               access_log=None)
        await runner.setup()
        await web.TCPSite(runner, opts.bind_address, port).start()
        runners.append(runner)
    return runners
