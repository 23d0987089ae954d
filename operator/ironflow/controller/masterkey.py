"""Watch the master-key Secret (one Secret, by name, in the operator's namespace) and apply it live.

A focused list+watch with a field selector, not a kopf handler: kopf would watch every Secret it
can see, and the operator's namespace need not be one it serves. Only a confirmed absence (404 /
empty list) means "no key", and that is development mode only when the operator was started with
--dev-mode; otherwise it is NoMasterKey (unseal nothing, keep every projection). Any other failure
to read the key leaves the operator waiting (not ready): guessing would be worse than waiting.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from typing import Any

from ironflow import metrics
from ironflow.controller.state import Runtime
from ironflow.controller.work import AnchorKey, CrKey, SealingKeyKey
from ironflow.core.keyring import MalformedMasterKey, parse_keyring
from ironflow.core.model import SECRET_KIND, spec_of
from ironflow.core.outcomes import KeyState, sealed_key_id
from ironflow.k8s import informers
from ironflow.k8s.informer import Synced

logger = logging.getLogger("ironflow.master-key")


def key_state(secret: Mapping[str, Any] | None, dev_mode: bool = False) -> KeyState:
    if secret is None:
        return parse(None, dev_mode)
    decoded: dict[str, str | bytes] = {}
    for field, value in (secret.get("data") or {}).items():
        try:
            decoded[field] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            return KeyState(None, f"{field} in the master-key Secret is not valid base64", dev_mode)
    return parse(decoded, dev_mode)


def parse(data: Mapping[str, str | bytes] | None, dev_mode: bool = False) -> KeyState:
    try:
        return KeyState(parse_keyring(data), dev_mode_allowed=dev_mode)
    except MalformedMasterKey as exc:
        return KeyState(None, str(exc), dev_mode)


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
    elif state.mode == "no-key":
        logger.error("no master key (Secret %s/%s absent or empty) and not started with --dev-mode: "
                     "NoMasterKey, nothing is unsealed and every projection is kept; restore the Secret",
                     runtime.options.operator_namespace, name)
    elif state.mode == "invalid-key":
        logger.error("master key Secret %s/%s is malformed, nothing will be unsealed and every projection "
                     "is kept: %s", runtime.options.operator_namespace, name, state.problem)
    else:
        logger.info("master key loaded: key id %s (%d key(s) accepted for unsealing)",
                    state.kid, len(state.keyring.kids) if state.keyring else 0)
        if state.keyring is not None and state.keyring.chain_problem:
            logger.warning("%s; publishing only the links the keys at hand can sign, so a CLI pinned to "
                           "an older signer must pin again (docs/crypto.md, 'Trust')",
                           state.keyring.chain_problem)
    runtime.keys_loaded.set()
    # The published sealing keys first: one write per namespace, and what every `ironflow secret
    # set` reads. Queued after the resources, they waited for all of them (2.7 s behind 118
    # resources, measured), so users sealed for the old key meanwhile.
    for namespace in sorted(runtime.served_namespaces):
        runtime.queue.add(SealingKeyKey(namespace))
    runtime.queue.add(AnchorKey())
    if old is not None:
        for kind, namespace, cr in runtime.cache.resources():
            runtime.queue.add(CrKey(kind, namespace, cr))
        # Last: an advisory report over every cached body. Before the queueing, a body it could
        # not read left the new key applied in memory but never published nor reconciled.
        _warn_unsealable(runtime, old, state)


def _warn_unsealable(runtime: Runtime, old: KeyState, new: KeyState) -> None:
    """A key change that strands sealed values says how many (and which names; never values)."""
    before = set(old.keyring.kids) if old.keyring else set()
    after = set(new.keyring.kids) if new.keyring else set()
    if not before - after:
        return
    stranded = stranded_values(runtime, before - after)
    if stranded:
        shown = ", ".join(stranded[:20]) + (", ..." if len(stranded) > 20 else "")
        logger.warning("master key change: %d sealed value(s) were sealed for key id(s) no longer accepted "
                       "(%s) and cannot be unsealed; their last value stays projected until they are "
                       "re-sealed or the old key is added to IRONFLOW_PREVIOUS_KEYS: %s",
                       len(stranded), ", ".join(sorted(before - after)), shown)


def stranded_values(runtime: Runtime, kids: set[str]) -> list[str]:
    """namespace/resource/NAME of every cached sealed value whose key id is in `kids`."""
    out = []
    for kind, namespace, cr in runtime.cache.resources():
        if kind != SECRET_KIND:
            continue
        # Through the one spec reader: a stored `spec: "a string"` (a CRD without Ironflow's schema)
        # strands nothing, where reaching into the raw body raised and ended the key watch.
        for name, value in spec_of(SECRET_KIND, runtime.cache.get(kind, namespace, cr)).entries.items():
            if isinstance(value, str) and sealed_key_id(value) in kids:
                out.append(f"{namespace}/{cr}/{name}")
    return sorted(out)


async def watch(runtime: Runtime) -> None:
    """Only a list that found no Secret, or a deletion, means "no key"; a failure waits and lists again."""
    ns, name = runtime.options.operator_namespace, runtime.options.master_key_secret
    dev_mode = runtime.options.dev_mode
    informer = informers.secret_named(runtime.kube, ns, name,
                                      what=f"reading master key Secret {ns}/{name}", logger=logger)
    async for change in informer:
        if isinstance(change, Synced):
            if not change.keys:
                apply(runtime, key_state(None, dev_mode))
        elif change.type == "DELETED":
            apply(runtime, key_state(None, dev_mode))
        else:
            apply(runtime, key_state(change.object, dev_mode))
