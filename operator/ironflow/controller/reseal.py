"""Answer `ironflow secret reseal` requests: re-seal an IronflowSecret's values for the current key.

The request is the annotation `ironflow.io/reseal: <nonce>` (core/reseal.py); the answer is
`status.reseal` with the same nonce. The resource is read fresh (not from the cache) so the spec
write carries the resourceVersion it was computed from: a concurrent `secret set` makes it fail
with 409 and the queue retries on the new state, instead of overwriting a value set meanwhile.
Temporary reseal-only resources (`secret reseal -f`) never enter the cache, so they are never
projected and claim no names; one left behind by an interrupted CLI is deleted after a TTL.
Logs and Events carry counts, names and key ids; the plaintext stays inside core.reseal.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection
from typing import Any

from ironflow.controller import events, namespaces
from ironflow.controller.state import Runtime
from ironflow.controller.work import ResealKey
from ironflow.core.conditions import Event
from ironflow.core.model import (
    PLURALS,
    SECRET_KIND,
    InvalidResource,
    InvalidSpec,
    Spec,
    parse_resource,
    spec_of,
)
from ironflow.core.outcomes import KeyState
from ironflow.core.reseal import (
    RESEAL_ONLY_LABEL,
    RESEAL_ONLY_TTL_SECONDS,
    is_reseal_only,
    pending_nonce,
    reseal,
)
from ironflow.k8s.async_client import ApiError
from ironflow.k8s.resources import delete_resource, get_resource, list_labelled, patch_resource, patch_status

logger = logging.getLogger("ironflow.reseal")


_PLURAL = PLURALS[SECRET_KIND]


def _age_seconds(body: dict[str, Any]) -> float:
    created = str((body.get("metadata") or {}).get("creationTimestamp") or "")
    try:
        when = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return 0.0
    return (datetime.datetime.now(datetime.UTC) - when).total_seconds()


def wanted(body: dict[str, Any]) -> bool:
    """Whether a watch event's body needs the reseal worker (a request, or a temporary leftover)."""
    return pending_nonce(body) is not None or is_reseal_only(body)


async def _collect(runtime: Runtime, namespace: str, name: str, body: dict[str, Any]) -> None:
    """A temporary resource outliving its CLI (answered, or never answerable) goes after the TTL."""
    age = _age_seconds(body)
    if age < RESEAL_ONLY_TTL_SECONDS:
        runtime.queue.park(ResealKey(namespace, name), RESEAL_ONLY_TTL_SECONDS - age + 1.0)
        return
    uid = (body.get("metadata") or {}).get("uid")
    try:
        await delete_resource(runtime.kube, _PLURAL, namespace, name, {"preconditions": {"uid": uid}})
    except ApiError as exc:
        if exc.status not in (404, 409):
            raise
    logger.info("IronflowSecret %s/%s: deleted a leftover reseal-only resource", namespace, name)


async def handle(runtime: Runtime, namespace: str, name: str, keys: KeyState) -> None:
    body = await get_resource(runtime.kube, _PLURAL, namespace, name)
    if body is None:
        return
    nonce = pending_nonce(body)
    if nonce is None:
        if is_reseal_only(body):
            await _collect(runtime, namespace, name, body)
        return
    spec = spec_of(SECRET_KIND, body)
    result = reseal(keys.keyring, namespace, spec.entries) if keys.keyring is not None and isinstance(
        spec, Spec) else None
    if result is None:
        why = spec.reason if isinstance(spec, InvalidSpec) else f"master key: {keys.mode}"
        record: dict[str, Any] = {"nonce": nonce, "keyId": keys.kid, "resealed": 0, "skipped": 0,
                                  "resealedNames": [], "failed": [why]}
    else:
        record = result.record(nonce, keys.kid)
        if result.values:
            rv = (body.get("metadata") or {}).get("resourceVersion")
            # 409 when the resource changed since the read: raised, retried on the new state
            await patch_resource(runtime.kube, _PLURAL, namespace, name,
                                 {"metadata": {"resourceVersion": rv}, "spec": {"sealed": result.values}})
    try:
        await patch_status(runtime.kube, _PLURAL, namespace, name, {"status": {"reseal": record}})
    except ApiError as exc:
        if exc.status == 404:
            return
        raise
    failed = record["failed"]
    logger.info("IronflowSecret %s/%s: reseal %s for key id %s: %d re-sealed (%s), %d skipped%s",
                namespace, name, nonce, keys.kid, record["resealed"],
                ", ".join(record["resealedNames"]) or "none", record["skipped"],
                f"; left untouched: {', '.join(failed)}" if failed else "")
    try:
        resource = parse_resource(SECRET_KIND, body)
    except InvalidResource:
        return
    message = (f"re-sealed {record['resealed']} value(s) for key id {keys.kid}, skipped {record['skipped']}"
               + (f"; left untouched: {', '.join(failed)}" if failed else ""))
    await events.post(runtime.kube, resource, Event("Warning" if failed else "Normal", "Resealed",
                                                    message[:1000]))
    if is_reseal_only(body):
        runtime.queue.park(ResealKey(namespace, name), RESEAL_ONLY_TTL_SECONDS + 1.0)


async def resume(runtime: Runtime, within: Collection[str] | None = None) -> None:
    """On gaining the Lease (or, with sharding, namespaces `within`): queue the requests a standby
    saw and dropped (and leftovers to collect).

    Requests on ordinary resources are in the cache; temporary reseal-only resources never are,
    so they are listed by label, in the served namespaces (or cluster-wide when served by pattern).
    """
    for kind, namespace, name in runtime.cache.resources():
        if within is not None and namespace not in within:
            continue
        body = runtime.cache.get(kind, namespace, name)
        if kind == SECRET_KIND and body is not None and pending_nonce(body) is not None:
            runtime.queue.add(ResealKey(namespace, name))
    patterns = runtime.options.namespaces
    scopes: list[str | None] = list(patterns) if namespaces.is_static(patterns) else [None]
    if within is not None and namespaces.is_static(patterns):
        scopes = [s for s in scopes if s in within]
    for scope in scopes:
        try:
            listing = await list_labelled(runtime.kube, _PLURAL, scope, f"{RESEAL_ONLY_LABEL}=true")
        except ApiError as exc:
            logger.warning("listing reseal-only IronflowSecrets failed (%s): a pending `secret reseal -f` "
                           "request may need to be asked again", exc)
            continue
        for item in listing.get("items") or []:
            meta = item.get("metadata") or {}
            namespace = str(meta.get("namespace") or "")
            if within is not None and namespace not in within:
                continue
            if scope is not None or namespaces.matches(patterns, namespace):
                runtime.queue.add(ResealKey(namespace, str(meta.get("name"))))
