"""Targeted rollouts: roll the workloads whose pods declare a name whose value changed, no others.

Two triggers feed one idempotent reconcile (core.rollout decides, this module only reads and
patches): an IronflowSecret/IronflowConfig event whose per-name versions differ from what this
process last saw queues a re-check of the declaring workloads of that environment (reached
through the one kopf event handler of each kind, controller/cr_events.py); a workload event
records its baseline (first sight) or catches up on a change missed while the operator was down.
Both come from kopf event handlers, so nothing is stored on the workloads but our two annotations.
Workloads opted in by resource (`ironflow.io/rollout-on`) go through the same path. Each rollout
is logged, counted (`ironflow_rollouts_total{kind}`) and posted as a Normal Event on the workload,
naming the changed names or resources and nothing of their values.

Environment checks go through the operator's work queue as RolloutKey(namespace): a burst of
status changes (a restart, a key rotation, a bulk apply) collapses into one check per namespace,
and a failed check is retried with backoff instead of being lost. The environment is read from
the operator's in-memory cache of resources, not listed again for every event.

A check runs at most once per ROLLOUT_INTERVAL per namespace, and derives the environment's view
only when a workload there declares something. Without both, a restart over N resources (each
listed resource is news to a fresh process) re-derived the view of all N for nearly every event,
because each event re-queued the check while the previous one ran: at 10,000 resources that was
three quarters of the restart's CPU (docs/benchmarks.md). A change waits at most that interval.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import kopf

from ironflow import metrics
from ironflow.controller.state import Runtime, runtime_of
from ironflow.controller.work import RolloutKey
from ironflow.core.environment_view import EnvironmentView
from ironflow.core.model import CONFIG_KIND, SECRET_KIND, spec_of
from ironflow.core.rollout import (
    OBSERVED_VERSIONS_ANNOTATION,
    OPT_OUT_ANNOTATION,
    ROLLOUT_ON_ANNOTATION,
    RolloutPlan,
    describe,
    plan,
    tracks,
)
from ironflow.k8s.async_client import ApiError, Kube
from ironflow.k8s.workloads import KINDS, get_workload, list_workloads, patch_workload, post_event

log = logging.getLogger("ironflow.rollouts")
ATTEMPTS = 3
ROLLOUT_INTERVAL = 1.0  # seconds between two checks of one namespace (see the module docstring)
# What this module remembers between events lives on the runtime (state.RolloutMemory).


async def _view(runtime: Runtime, namespace: str) -> EnvironmentView:
    """From the cache's admission index: the same view as a build over the bodies, kept current
    change by change (core/admission_index.py)."""
    await runtime.cache.prime(runtime.kube, namespace)
    return runtime.cache.view(namespace)


def _declares(body: Mapping[str, Any], **_: Any) -> bool:
    """Declares names in its pod template or opts in with ironflow.io/rollout-on, and not opted out."""
    return tracks(body)


async def _announce(kube: Kube, resource: str, body: Mapping[str, Any], rollout: RolloutPlan) -> None:
    """Log, count and post a Normal Event naming what changed: names and resources, never values."""
    meta = body.get("metadata") or {}
    digest = rollout.digest
    changed = describe(rollout.changed)
    log.info("rolled %s %s/%s: changed %s (digest %s)", KINDS[resource], meta.get("namespace"),
             meta.get("name"), changed, digest)
    metrics.ROLLOUTS.labels(kind=KINDS[resource]).inc()
    try:
        await post_event(kube, resource, body, "RolledOut", f"rolled out by Ironflow: changed {changed}")
        metrics.API_WRITES.labels(resource="events", verb="create").inc()
    except ApiError as exc:  # a notice: never worth retrying a rollout that already happened
        log.warning("could not post the rollout Event for %s %s/%s: %s", KINDS[resource],
                    meta.get("namespace"), meta.get("name"), exc)


async def reconcile_workload(
    kube: Kube, resource: str, body: Mapping[str, Any], view: EnvironmentView
) -> None:
    """Apply the plan; on a concurrent change re-read and plan again from the fresh object.

    A workload that keeps changing under us (the deployment controller writes a new Deployment's
    status several times in its first second) raises a 409 ApiError after the last attempt, so
    the caller retries later instead of taking the check as done: a baseline skipped silently
    would never be recorded, and the workload would not roll on the next change."""
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace")), str(meta.get("name"))
    for _attempt in range(ATTEMPTS):
        rollout = plan(body, view)
        if rollout is None:
            return
        if await patch_workload(
            kube, resource, namespace, name, rollout.patch, str(meta.get("resourceVersion"))
        ):
            if rollout.rolls:
                await _announce(kube, resource, body, rollout)
            return
        fresh = await get_workload(kube, resource, namespace, name)
        if fresh is None:
            return
        body, meta = fresh, fresh.get("metadata") or {}
    raise ApiError(409, "Conflict", f"{resource} {namespace}/{name} changed during all {ATTEMPTS} attempts")


async def reconcile_environment(runtime: Runtime, namespace: str) -> None:
    """The queued check of one environment; API errors propagate so the queue retries it."""
    now, last_check = time.monotonic(), runtime.rollouts.last_check
    wait = last_check.get(namespace, now - ROLLOUT_INTERVAL) + ROLLOUT_INTERVAL - now
    if wait > 0:  # checked a moment ago: once more when the interval is over (events may re-queue it sooner)
        runtime.queue.add_after(RolloutKey(namespace), wait)
        return
    last_check[namespace] = now
    declaring = [(resource, body) for resource, body in await list_workloads(runtime.kube, namespace)
                 if _declares(body)]
    if not declaring:
        return
    view = await _view(runtime, namespace)
    for resource, body in declaring:
        await reconcile_workload(runtime.kube, resource, body, view)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _versions_changed(seen: dict[tuple[str, str, str], str], kind: str, body: Mapping[str, Any]) -> bool:
    """Whether the per-name versions (status) or the names (spec) differ from the last event's.

    Any stored shape is read safely: the spec through the one spec reader, so a `spec: "a string"`
    stored through a CRD without Ironflow's schema counts as defining no names (it used to raise
    on every event), and a status that is not an object as having no versions."""
    meta = _mapping(body.get("metadata"))
    key = (kind, str(meta.get("namespace")), str(meta.get("name")))
    names = _mapping(_mapping(body.get("status")).get("names"))
    spec = spec_of(SECRET_KIND if kind == "secret" else CONFIG_KIND, body)
    fingerprint = json.dumps(
        {str(n): _mapping(f).get("version") for n, f in names.items() if isinstance(f, Mapping)},
        sort_keys=True, default=str,
    ) + json.dumps(sorted(spec.entries)) + json.dumps(getattr(spec, "reason", None))
    if seen.get(key) == fingerprint:
        return False
    seen[key] = fingerprint
    return True


async def on_environment_event(runtime: Runtime, kind: str, event: Mapping[str, Any],
                               namespace: str | None) -> None:
    """An IronflowSecret ("secret") or IronflowConfig ("config") event: re-check its environment
    when the versions or names it defines changed."""
    body = event.get("object") or {}
    if namespace is None or not runtime.serves(namespace):  # kopf may watch cluster-wide
        return
    seen = runtime.rollouts.versions
    if event.get("type") == "DELETED":
        meta = body.get("metadata") or {}
        seen.pop((kind, namespace, str(meta.get("name"))), None)
    elif not _versions_changed(seen, kind, body):
        return
    runtime.queue.add(RolloutKey(namespace))


def _workload_fingerprint(workload: Mapping[str, Any]) -> str:
    """What a workload event can change for rollouts; status-only updates (frequent) leave it alone."""
    meta = workload.get("metadata") or {}
    template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return json.dumps(
        [
            meta.get("uid"),
            annotations.get(OBSERVED_VERSIONS_ANNOTATION),
            annotations.get(OPT_OUT_ANNOTATION),
            annotations.get(ROLLOUT_ON_ANNOTATION),
            template.get("annotations") or {},
        ],
        sort_keys=True,
    )


async def _on_workload_event(runtime: Runtime, resource: str, event: Mapping[str, Any],
                             namespace: str | None) -> None:
    body = event.get("object") or {}
    key = (resource, str(namespace), str((body.get("metadata") or {}).get("name")))
    seen = runtime.rollouts.workloads
    if namespace is not None and not runtime.serves(namespace):  # kopf may watch cluster-wide
        return
    if event.get("type") == "DELETED" or namespace is None:
        seen.pop(key, None)
        return
    fingerprint = _workload_fingerprint(body)
    if seen.get(key) == fingerprint:
        return  # environment changes reach it through reconcile_environment instead
    if not runtime.owns(namespace):
        return  # only the namespace's owner writes; a new owner checks it (controller/resync.py)
    try:
        await reconcile_workload(runtime.kube, resource, body, await _view(runtime, namespace))
    except ApiError as exc:
        # Not marked as seen, and the namespace's check is queued: the queue retries with backoff.
        (log.debug if exc.status == 409 else log.warning)(
            "rollout check of %s in %s failed: %s; queued again", resource, namespace, exc
        )
        runtime.queue.add(RolloutKey(namespace))
        return
    seen[key] = fingerprint


@kopf.on.event("apps", "v1", "deployments", when=_declares)
async def deployment_declares(event: Mapping[str, Any], namespace: str | None, memo: Any, **_: Any) -> None:
    await _on_workload_event(runtime_of(memo), "deployments", event, namespace)


@kopf.on.event("apps", "v1", "statefulsets", when=_declares)
async def statefulset_declares(event: Mapping[str, Any], namespace: str | None, memo: Any, **_: Any) -> None:
    await _on_workload_event(runtime_of(memo), "statefulsets", event, namespace)


@kopf.on.event("apps", "v1", "daemonsets", when=_declares)
async def daemonset_declares(event: Mapping[str, Any], namespace: str | None, memo: Any, **_: Any) -> None:
    await _on_workload_event(runtime_of(memo), "daemonsets", event, namespace)
