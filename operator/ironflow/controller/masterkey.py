"""Watch the master-key Secret (one Secret, by name, in the operator's namespace) and apply it live.

A focused list+watch with a field selector, not a kopf handler: kopf would watch every Secret it
can see, and the operator's namespace need not be one it serves. Only a confirmed absence (404 /
empty list) means development mode; any other failure to read the key leaves the operator waiting
(not ready), because guessing "dev mode" would accept plaintext values in a keyed cluster.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Mapping
from typing import Any

from ironflow import metrics
from ironflow.controller.state import Runtime
from ironflow.core.keyring import MalformedMasterKey, parse_keyring
from ironflow.core.outcomes import KeyState
from ironflow.k8s.async_client import ApiError, core_path

logger = logging.getLogger("ironflow.master-key")


def key_state(secret: Mapping[str, Any] | None) -> KeyState:
    if secret is None:
        return parse(None)
    decoded: dict[str, str | bytes] = {}
    for field, value in (secret.get("data") or {}).items():
        try:
            decoded[field] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            return KeyState(None, f"{field} in the master-key Secret is not valid base64")
    return parse(decoded)


def parse(data: Mapping[str, str | bytes] | None) -> KeyState:
    try:
        return KeyState(parse_keyring(data))
    except MalformedMasterKey as exc:
        return KeyState(None, str(exc))


def apply(runtime: Runtime, state: KeyState) -> None:
    old = runtime.keys
    if old is not None and old.fingerprint() == state.fingerprint():
        return
    runtime.keys = state
    metrics.set_mode(state.mode)
    name = runtime.options.master_key_secret
    if state.mode == "dev":
        logger.warning("no master key (Secret %s/%s absent or empty): DEVELOPMENT MODE, dev-form plaintext "
                       "values are accepted; create the Secret for production",
                       runtime.options.operator_namespace, name)
    elif state.mode == "invalid-key":
        logger.error("master key Secret %s/%s is malformed, nothing will be unsealed and every projection "
                     "is kept: %s", runtime.options.operator_namespace, name, state.problem)
    else:
        logger.info("master key loaded: key id %s (%d key(s) accepted for unsealing)",
                    state.kid, len(state.keyring.kids) if state.keyring else 0)
    runtime.keys_loaded.set()
    # The published sealing keys first: one write per namespace, and what every `ironflow secret
    # set` reads. Queued after the resources, they waited for all of them (2.7 s behind 118
    # resources, measured), so users sealed for the old key meanwhile.
    for namespace in sorted(runtime.served_namespaces):
        runtime.queue.add(("sealing-key", namespace))
    if old is not None:
        for kind, namespace, cr in runtime.cache.resources():
            runtime.queue.add(("cr", kind, namespace, cr))


async def watch(runtime: Runtime) -> None:
    ns, name = runtime.options.operator_namespace, runtime.options.master_key_secret
    path = core_path("secrets", ns)
    query = {"fieldSelector": f"metadata.name={name}"}
    delay = 1.0
    while True:
        try:
            listing = await runtime.kube.request("GET", path, query=query)
            items = listing.get("items") or []
            apply(runtime, key_state(items[0] if items else None))
            since = str(listing.get("metadata", {}).get("resourceVersion", ""))
            delay = 1.0
            while True:
                async for event in runtime.kube.watch(path, query, since):
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        raise ApiError(int(obj.get("code") or 0), str(obj.get("reason")), "watch expired")
                    since = str(obj.get("metadata", {}).get("resourceVersion", since))
                    if kind in ("ADDED", "MODIFIED"):
                        apply(runtime, key_state(obj))
                    elif kind == "DELETED":
                        apply(runtime, key_state(None))
        except ApiError as exc:
            if exc.status != 410:
                logger.warning("reading master key Secret %s/%s failed (%s); retrying in %.0fs",
                               ns, name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
