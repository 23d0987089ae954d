"""`ironflow-operator`: options (flags or IRONFLOW_* variables), then kopf plus our own tasks.

Our tasks (master-key watch, namespace discovery, reconcile workers, HTTP endpoints) run next to
kopf in one event loop, under one supervisor, and stop with it. Credentials come only from what
was named: --kubeconfig or KUBECONFIG, or --in-cluster when deployed; otherwise the operator
refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
from typing import Any

import click
import kopf

from ironflow import metrics
from ironflow.controller import (
    crd_check,
    drift,
    health,
    kopf_decoding,
    kopf_memories,
    kopf_namespaces,
    logs,
    masterkey,
    namespaces,
    reseal,
    resync,
    share_events,
    stale,
    state,
    worker,
)
from ironflow.controller import registry as _registry  # registers every handler
from ironflow.controller.election_flags import election_click_options, election_from
from ironflow.controller.settings import configure
from ironflow.k8s.async_client import Kube, user_agent
from ironflow.k8s.config import ClusterNotNamed, choose_cluster
from ironflow.k8s.kubeconfig import KubeconfigError
from ironflow.webhook.options import options_from, webhook_click_options

logger = logging.getLogger("ironflow.operator")
_ = _registry
EVENT_DRAIN_SECONDS = 5.0  # a stop waits this long for Events still in flight (controller/events.py)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        out.extend(part for part in re.split(r"[,\s]+", value) if part)
    return tuple(dict.fromkeys(out))


async def _watch_ready(flag: asyncio.Event, runtime: state.Runtime, stop: asyncio.Event,
                       leadership: asyncio.Task[None], shares: asyncio.Task[None]) -> None:
    await flag.wait()
    runtime.kopf_ready.set()
    stopping: set[asyncio.Future[None]] = set()  # the event loop keeps only weak references to tasks

    def on_sigterm() -> None:
        task = asyncio.ensure_future(_hand_over(runtime, (leadership, shares), stop))
        stopping.add(task)
        task.add_done_callback(stopping.discard)

    # kopf installed its own handler when it started; from now on SIGTERM hands the Lease over first.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_sigterm)


async def _hand_over(runtime: state.Runtime, loops: tuple[asyncio.Task[None], ...],
                     stop: asyncio.Event) -> None:
    """SIGTERM: post the Events in flight, release the Lease (and delete the member Lease), then
    let kopf stop.

    kopf's own stop waits up to seconds for its tasks; a standby should not wait for that (nor a
    `helm uninstall`, whose RBAC goes moments later). Cancelling the election loops first keeps an
    attempt in flight from taking the Lease back after the release."""
    if not stop.is_set():
        logger.info("SIGTERM: handing the leader Lease over, then stopping")
        for loop in loops:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        await runtime.events.drain(EVENT_DRAIN_SECONDS)
        await runtime.shares.release()
        await runtime.leadership.release()
    stop.set()


async def serve(options: state.Options) -> None:
    kube = await Kube.connect(options.cluster, user_agent(options.election.replica_id))
    try:
        await _serve(options, kube)
    finally:
        await kube.close()


async def _serve(options: state.Options, kube: Kube) -> None:
    runtime = state.Runtime(options=options, kube=kube)
    runtime.projected.listing_expected = True  # the drift watch below fills it
    metrics.build_info()
    metrics.QUEUE_DEPTH.set_function(lambda: runtime.queue.depth)
    runners = await health.serve(runtime)
    kopf_ready, stop = asyncio.Event(), asyncio.Event()
    handle = worker.handler(runtime)
    if options.election.sharding:  # the leader keeps the cluster-wide work; each share its own
        runtime.leadership.on_gain(lambda: resync.leader_resync(runtime))
        runtime.shares.on_change(lambda gained, _lost: resync.on_gain(runtime, gained))
        runtime.shares.on_keep(lambda gained, lost: resync.on_keep(runtime, gained, lost))
    else:
        runtime.leadership.on_gain(lambda: resync.resync(runtime))
    runtime.leadership.on_gain(lambda: reseal.resume(runtime))  # requests a standby dropped (owners run them)
    # Every task below runs supervised (controller/supervisor.py): an exception is logged, counted
    # and the task restarted with backoff; one that keeps failing makes /readyz (or /healthz) say so.
    supervise = runtime.supervisor.start
    supervise("master-key", lambda: masterkey.watch(runtime))
    static = namespaces.is_static(options.namespaces)  # a plain list is served once, then done
    supervise("namespaces", lambda: namespaces.discover(runtime), completes=static)
    supervise("cache", lambda: resync.sync_cache(runtime), completes=True)
    supervise("drift", lambda: drift.watch(runtime))
    supervise("crd-versions", lambda: crd_check.watch(runtime))
    supervise("stale", lambda: stale.run(runtime))
    leadership = supervise("leadership", runtime.leadership.run, completes=not options.election.enabled,
                           liveness=True)
    shares = supervise("shares", runtime.shares.run, completes=not options.election.sharding, liveness=True)
    supervise("ready", lambda: _watch_ready(kopf_ready, runtime, stop, leadership, shares), completes=True)
    for i in range(options.workers):
        supervise(f"worker-{i}", lambda: runtime.queue.worker(handle), liveness=True)
    scope = ", ".join(options.namespaces) if options.namespaces else "all namespaces"
    logger.info("serving %s; master key Secret %s/%s; cluster: %s", scope, options.operator_namespace,
                options.master_key_secret, options.cluster.describe())
    if options.dev_mode:
        logger.warning("started with --dev-mode: if the master key is absent or empty, plaintext dev-form "
                       "values are accepted; never use --dev-mode in production")
    settings = kopf.OperatorSettings()
    configure(settings, options)
    # no single object's body may stop the watch of its kind; events outside the share skip kopf
    kopf_decoding.install(share_events.divert_for(runtime))
    kopf_namespaces.install()  # a namespace created while kopf's observer starts is served too
    kopf_memories.install()  # no per-object memory kopf would keep for handlers we do not have
    clusterwide, watched = namespaces.kopf_scope(options.namespaces)  # handlers check runtime.serves
    try:  # kopf hands each handler a copy of this memo: how handlers reach the runtime (state.runtime_of)
        await kopf.operator(clusterwide=clusterwide, namespaces=watched,
                            standalone=True, ready_flag=kopf_ready, stop_flag=stop, settings=settings,
                            memo=kopf.Memo(runtime=runtime))
    finally:
        await runtime.supervisor.stop()
        await runtime.events.drain(EVENT_DRAIN_SECONDS)
        await runtime.shares.release()
        await runtime.leadership.release()
        for runner in runners:
            await runner.cleanup()


@click.command(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "IRONFLOW"})
@click.option("--kubeconfig", type=click.Path(dir_okay=False),
              help="Kubeconfig of the cluster to serve (default: KUBECONFIG, a list merged as kubectl does).")
@click.option("--context", default=None, help="Context in the kubeconfig (default: its current context).")
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account (only when deployed).")
@click.option("-n", "--namespace", "namespace_list", multiple=True, envvar="IRONFLOW_NAMESPACES",
              help="Namespaces to serve: names or globs, '!name' to exclude, repeatable or "
                   "comma-separated (IRONFLOW_NAMESPACES). Default: all namespaces.")
@click.option("--operator-namespace", default="ironflow-system", show_default=True,
              help="Namespace holding the master-key Secret.")
@click.option("--master-key-secret", default="ironflow-master-key", show_default=True)
@click.option("--metrics-port", type=int, default=8080, show_default=True, help="0 disables /metrics.")
@click.option("--health-port", type=int, default=8081, show_default=True,
              help="Serves /healthz and /readyz; 0 disables.")
@click.option("--bind-address", default="0.0.0.0", show_default=True)  # noqa: S104 - a pod's endpoints
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              default="info", show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Concurrent reconciles.")
@click.option("--sealing-key-excluded-namespaces", "sealing_key_excluded",
              default=",".join(state.SYSTEM_NAMESPACES), show_default=True,
              help="Served namespaces given no sealing-key ConfigMap (comma-separated; empty: none).")
@click.option("--dev-mode", is_flag=True, envvar="IRONFLOW_DEV_MODE",
              help="Development only: without a master key, accept plaintext dev-form values. Without "
                   "this flag a missing key is NoMasterKey (nothing unsealed, projections kept).")
@webhook_click_options
@election_click_options
def main(kubeconfig: str | None, context: str | None, in_cluster: bool, namespace_list: tuple[str, ...],
         operator_namespace: str, master_key_secret: str, metrics_port: int, health_port: int,
         bind_address: str, log_format: logs.LogFormat, log_level: str, workers: int,
         sealing_key_excluded: str, dev_mode: bool, **webhook: Any) -> None:
    """Run the Ironflow operator: project IronflowSecrets and IronflowConfigs into Secrets and ConfigMaps."""
    logs.configure(log_format, log_level)
    webhook_options = options_from(webhook)
    try:
        cluster = choose_cluster(kubeconfig, context, in_cluster=in_cluster)
    except ClusterNotNamed as exc:
        click.echo(f"ironflow-operator: {exc}", err=True)
        sys.exit(2)
    options = state.Options(cluster=cluster, namespaces=_split(namespace_list),
                            operator_namespace=operator_namespace, master_key_secret=master_key_secret,
                            metrics_port=metrics_port, health_port=health_port, bind_address=bind_address,
                            workers=workers, sealing_key_excluded=_split((sealing_key_excluded,)),
                            election=election_from(webhook, operator_namespace), dev_mode=dev_mode,
                            webhook=webhook_options)
    try:
        asyncio.run(serve(options))
    except KubeconfigError as exc:  # e.g. an auth-provider user, a failing exec plugin: one line
        click.echo(f"ironflow-operator: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # a port in use, typically: say so without a traceback
        click.echo(f"ironflow-operator: {exc}", err=True)
        sys.exit(1)
