"""Reconcile one IronflowSecret / IronflowConfig: look, decide (core), write only what differs.

Writes are exactly: the projected object when its data, label or existence differ; the status when
it differs; Events for transitions (sent beside the reconcile: controller/events.py). What the
projected object holds comes from the drift watch's cache (controller/projected.py), so a steady-
state reconcile reads nothing. Every write of the object is conditional: a create fails if it
exists, a merge patch carries the resourceVersion the decision was made on. A concurrent hand edit
or a stale cache therefore makes the write fail with 409 instead of overwriting a newer object; the
reconcile then reads it once and decides again.
"""

from __future__ import annotations

import base64
import datetime
import logging
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from ironflow import metrics
from ironflow.controller.echoes import Write
from ironflow.controller.logs import REDACTOR
from ironflow.controller.projected import actual_from
from ironflow.controller.state import Runtime
from ironflow.controller.work import CrKey
from ironflow.core.api_refusal import describe_refusal
from ironflow.core.conditions import desired_status, invalid_spec, ready, status_patch
from ironflow.core.conditions import events as transition_events
from ironflow.core.model import (
    API_VERSION,
    INVALID_SPEC,
    PLURALS,
    SECRET_KIND,
    InvalidResource,
    Kind,
    Resource,
    parse_resource,
)
from ironflow.core.outcomes import KeyState, NameOutcome, evaluate
from ironflow.core.projection import (
    VERSIONS_ANNOTATION,
    Actual,
    Projection,
    desired_annotations,
    desired_labels,
    judged_for,
    project,
    versions_annotation,
)
from ironflow.k8s.async_client import ApiError
from ironflow.k8s.core_objects import create_object, get_object, patch_object
from ironflow.k8s.resources import patch_status

logger = logging.getLogger("ironflow.projector")
# An object we do not own is invisible to our label-filtered watch, so its removal sends no event:
# a blocked resource looks again this often (one read, no write).
BLOCKED_RECHECK_SECONDS = 15.0


def _target(kind: Kind) -> tuple[str, str]:
    return ("secrets", "Secret") if kind == SECRET_KIND else ("configmaps", "ConfigMap")


def _encode(kind: Kind, data: Mapping[str, bytes]) -> dict[str, str]:
    if kind == SECRET_KIND:
        return {k: base64.b64encode(v).decode("ascii") for k, v in data.items()}
    return {k: v.decode("utf-8") for k, v in data.items()}


def _body(resource: Resource, projection: Projection) -> dict[str, Any]:
    _, object_kind = _target(resource.kind)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": object_kind,
        "metadata": {
            "name": resource.name,
            "namespace": resource.namespace,
            "labels": desired_labels(resource),
            # the template's annotations, then the versions, which a template cannot override
            "annotations": {
                **desired_annotations(resource),
                VERSIONS_ANNOTATION: versions_annotation(projection.versions),
            },
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": resource.kind, "name": resource.name,
                                 "uid": resource.uid, "controller": True}],
        },
        "data": _encode(resource.kind, projection.data),
    }
    if resource.kind == SECRET_KIND:
        body["type"] = resource.template.type
    return body


async def _actual(runtime: Runtime, kind: Kind, namespace: str, name: str) -> Actual:
    """The projected object from the drift watch's cache; one GET only when it is not known there."""
    known = runtime.projected.get(kind, namespace, name)
    if known is None and not runtime.projected.synced:  # a start: the watch's listing is coming
        await runtime.projected.wait_listing()
        known = runtime.projected.get(kind, namespace, name)
    if known is not None:
        return known
    plural, _ = _target(kind)
    body = await get_object(runtime.kube, plural, namespace, name)
    if body is None:
        runtime.projected.absent(kind, namespace, name)
    else:
        runtime.projected.put(kind, body)
    return actual_from(kind, body)


async def _write(runtime: Runtime, resource: Resource, projection: Projection, actual: Actual) -> None:
    """Conditional writes only: a create fails if the object exists, a patch carries the
    resourceVersion the decision was made on, so a stale cache can never overwrite a newer object."""
    if projection.write not in ("create", "update"):
        return
    kube, plural = runtime.kube, _target(resource.kind)[0]
    with _own_write(runtime, resource, plural) as write:
        if projection.write == "create":
            written = await create_object(kube, plural, resource.namespace, _body(resource, projection))
            metrics.API_WRITES.labels(resource=plural, verb="create").inc()
        else:
            written = await patch_object(kube, plural, resource.namespace, resource.name,
                                         _patch(resource, projection, actual))
            metrics.API_WRITES.labels(resource=plural, verb="patch").inc()
        if written:
            runtime.projected.put(resource.kind, written)
            write.version = _version(written)


def _patch(resource: Resource, projection: Projection, actual: Actual) -> dict[str, Any]:
    """A merge patch carrying the resourceVersion the decision was made on."""
    data: dict[str, str | None] = dict(_encode(resource.kind, projection.data))
    data.update({k: None for k in actual.data if k not in projection.data})
    # The versions travel in the same write as the values they describe (see core.projection).
    annotations = {**desired_annotations(resource),
                   VERSIONS_ANNOTATION: versions_annotation(projection.versions)}
    patch: dict[str, Any] = {"metadata": {"resourceVersion": actual.resource_version,
                                          "labels": desired_labels(resource),
                                          "annotations": annotations}, "data": data}
    if resource.kind == SECRET_KIND:
        patch["type"] = resource.template.type  # immutable: a changed type is refused, and reported
    return patch


def _version(answer: Mapping[str, Any]) -> object:
    return (answer.get("metadata") or {}).get("resourceVersion")


def _own_write(runtime: Runtime, resource: Resource, plural: str) -> AbstractContextManager[Write]:
    """In flight until answered: a watch event of the object meanwhile is held, and queues the
    resource at the answer unless it was the echo (controller/echoes.py)."""
    key = CrKey(resource.kind, resource.namespace, resource.name)
    return runtime.echoes.writing(plural, resource.namespace, resource.name,
                                  lambda: runtime.queue.add(key))


async def _decide_and_write(runtime: Runtime, resource: Resource, outcomes: Mapping[str, NameOutcome],
                            now: str) -> tuple[Projection, ApiError | None]:
    """Decide from what we know and write; on 409 (our view was stale: the object was created or
    changed behind our back) read it once and decide again. Returns the write refused for good
    (RBAC, a limit), which status reports; transient errors and 404 are raised for a retry."""
    kind, namespace, name = resource.kind, resource.namespace, resource.name
    actual = judged_for(await _actual(runtime, kind, namespace, name), resource)
    projection = project(resource, outcomes, actual, now)
    try:
        try:
            await _write(runtime, resource, projection, actual)
        except ApiError as exc:
            if exc.status != 409:
                raise
            runtime.projected.forget(kind, namespace, name)
            actual = judged_for(await _actual(runtime, kind, namespace, name), resource)
            projection = project(resource, outcomes, actual, now)
            await _write(runtime, resource, projection, actual)
    except ApiError as exc:
        if exc.status == 404:  # deleted since we saw it: read again, recreate on retry
            runtime.projected.forget(kind, namespace, name)
        if exc.transient or exc.status == 404:
            raise
        return projection, exc  # say so in status, then retry with backoff (RBAC or a limit may be fixed)
    return projection, None


def _count_unseals(outcomes: Mapping[str, NameOutcome]) -> None:
    for outcome in outcomes.values():
        if outcome.value is not None:
            REDACTOR.remember(outcome.value)
        if outcome.state == "Projected":
            metrics.UNSEAL.labels(outcome="Unsealed").inc()
        elif outcome.state == "Failed":
            metrics.UNSEAL.labels(outcome=outcome.reason).inc()


async def _patch_status(runtime: Runtime, resource: Resource, patch: dict[str, Any]) -> bool:
    """False when the resource is gone (nothing left to report on)."""
    kind = resource.kind
    with _own_write(runtime, resource, PLURALS[kind]) as write:
        try:
            updated = await patch_status(runtime.kube, PLURALS[kind], resource.namespace, resource.name,
                                         {"status": patch})
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        metrics.API_WRITES.labels(resource=PLURALS[kind], verb="patch-status").inc()
        runtime.cache.put(kind, {"apiVersion": API_VERSION, "kind": kind, **updated})
        write.version = _version(updated)
    return True


async def _report_invalid_spec(runtime: Runtime, resource: Resource, keys: KeyState) -> None:
    """Say why in status and one Event; project nothing, remove nothing, and do not retry: the
    next change of the resource queues it again."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    desired, posted = invalid_spec(resource, keys, now)
    patch = status_patch(resource, desired)
    if patch is not None and not await _patch_status(runtime, resource, patch):
        return
    for event in posted:
        await runtime.events.post(resource, event)
    if patch is not None:
        logger.warning("%s %s/%s: Ready=False (%s): %s", resource.kind, resource.namespace, resource.name,
                       INVALID_SPEC, resource.spec_error)
    runtime.conditions.record(resource.key, "False", INVALID_SPEC)


async def reconcile(runtime: Runtime, kind: Kind, namespace: str, name: str, keys: KeyState) -> None:
    started = time.monotonic()
    kube = runtime.kube
    await runtime.cache.prime(kube, namespace)
    body = runtime.cache.get(kind, namespace, name)
    if body is None and runtime.cache.known(kind, namespace, name):
        return  # it exists, but its body is not kept here: another replica reconciles it
    if body is None:  # deleted: the garbage collector removes the projection it owned
        runtime.projected.drop(kind, namespace, name)
        runtime.echoes.forget(PLURALS[kind], namespace, name)
        runtime.echoes.forget(_target(kind)[0], namespace, name)
        runtime.conditions.record((kind, namespace, name), None, None)
        return
    try:
        resource = parse_resource(kind, body)
    except InvalidResource as exc:  # no uid or name to report on: retrying would not help
        logger.warning("%s %s/%s ignored: %s", kind, namespace, name, exc)
        return
    if resource.spec_error is not None:
        await _report_invalid_spec(runtime, resource, keys)
        return
    lost = runtime.cache.environment(kind, namespace).lost_by(name)
    outcomes = evaluate(resource, keys, lost)
    if kind == SECRET_KIND:
        _count_unseals(outcomes)
    _, object_kind = _target(kind)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    projection, refused = await _decide_and_write(runtime, resource, outcomes, now)
    write_error = describe_refusal(refused.status, refused.reason, refused.message) if refused else None
    state = ready(resource, projection, keys, write_error)
    patch = status_patch(resource, desired_status(resource, projection, keys, now, write_error))
    if patch is not None and not await _patch_status(runtime, resource, patch):
        return
    for event in transition_events(resource, projection, keys, state):
        await runtime.events.post(resource, event)
    if projection.write != "none" or patch is not None:
        logger.info("%s %s/%s: %s %s %s, Ready=%s (%s)%s", kind, namespace, name, projection.write,
                    object_kind, name, state.status, state.reason,
                    f", changed: {', '.join(projection.changed_names)}" if projection.changed_names else "")
    else:
        logger.debug("%s %s/%s: up to date", kind, namespace, name)
    runtime.conditions.record((kind, namespace, name), state.status, state.reason)
    metrics.RECONCILE.labels(kind=kind).observe(time.monotonic() - started)
    if refused is not None:
        raise refused
    if projection.write == "blocked":
        runtime.queue.park(CrKey(kind, namespace, name), BLOCKED_RECHECK_SECONDS)
