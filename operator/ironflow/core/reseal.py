"""Re-sealing sealed values for the current key inside the operator (`ironflow secret reseal`).

Why in the operator: only it holds the master keys, so it is the one place where a value can be
unsealed with an old key and sealed again with the current one without the plaintext ever
leaving it (the way `kubeseal --re-encrypt` asks its controller). The request travels through the
API server as an annotation on an IronflowSecret, so RBAC decides who may ask (patch on
ironflowsecrets: the writer role) and the audit log records who did, with ciphertext only.

The rules, pure: a value is re-sealed only when it unseals under the operator's keys for the
same namespace and NAME (the AAD binding is unchanged, so a value cannot be moved to another
name or environment through a reseal) and was sealed for a key other than the current one
(idempotent). Everything else is left exactly as it was and reported by NAME, never by value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ironflow.core.crypto import UnsealError, seal, unseal
from ironflow.core.keyring import Keyring
from ironflow.core.outcomes import sealed_key_id
from ironflow.core.sealed_format import is_dev_form

# The request: a fresh nonce per ask; the operator answers in status.reseal.nonce.
RESEAL_ANNOTATION: Final = "ironflow.io/reseal"
# A temporary IronflowSecret the CLI creates to reseal a manifest file: never projected, claims
# no names, and is deleted by the CLI (or by the operator once RESEAL_ONLY_TTL_SECONDS passed).
RESEAL_ONLY_LABEL: Final = "ironflow.io/reseal-only"
RESEAL_ONLY_PREFIX: Final = "ironflow-reseal-"
RESEAL_ONLY_TTL_SECONDS: Final = 600.0


@dataclass(frozen=True)
class ResealResult:
    """What one reseal did; `values` holds only the new sealed strings (ciphertext)."""

    values: dict[str, str] = field(repr=False)
    resealed: tuple[str, ...]
    current: tuple[str, ...]  # already sealed for the current key: left as they are
    failed: dict[str, str]  # NAME -> why it was left untouched (a reason that quotes no value)

    def record(self, nonce: str, kid: str | None) -> dict[str, Any]:
        """status.reseal: counts and names, never a value."""
        return {
            "nonce": nonce,
            "keyId": kid,
            "resealed": len(self.resealed),
            "skipped": len(self.current) + len(self.failed),
            "resealedNames": sorted(self.resealed),
            "failed": [f"{name}: {reason}" for name, reason in sorted(self.failed.items())],
        }


def _meta(body: Mapping[str, Any], field_name: str) -> Mapping[str, Any]:
    meta = body.get("metadata")
    value = meta.get(field_name) if isinstance(meta, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def is_reseal_only(body: Mapping[str, Any] | None) -> bool:
    """A temporary resource of `secret reseal -f`: the projection and the claims ignore it."""
    return body is not None and _meta(body, "labels").get(RESEAL_ONLY_LABEL) == "true"


def pending_nonce(body: Mapping[str, Any]) -> str | None:
    """The nonce of a reseal request not answered yet, or None."""
    nonce = _meta(body, "annotations").get(RESEAL_ANNOTATION)
    if not isinstance(nonce, str) or not nonce:
        return None
    status = body.get("status")
    answered = status.get("reseal") if isinstance(status, Mapping) else None
    if isinstance(answered, Mapping) and answered.get("nonce") == nonce:
        return None
    return nonce


def reseal(
    keyring: Keyring,
    namespace: str,
    sealed: Mapping[str, Any],
    *,
    rand: Callable[[int], bytes] = os.urandom,
) -> ResealResult:
    """Re-seal every value sealed for an older key of `keyring` for its current key."""
    current = keyring.current
    if keyring.dev_mode or current is None:
        return ResealResult({}, (), (), {name: "the operator has no master key" for name in sealed})
    values: dict[str, str] = {}
    resealed: list[str] = []
    kept: list[str] = []
    failed: dict[str, str] = {}
    for name, value in sealed.items():
        if not isinstance(value, str) or is_dev_form(value):
            failed[name] = "not a sealed value"
            continue
        if sealed_key_id(value) == current.kid:
            kept.append(name)
            continue
        try:
            plaintext = unseal(keyring, namespace, name, value, allow_dev=False)
        except UnsealError as exc:
            failed[name] = exc.reason
            continue
        values[name] = seal(current.public, namespace, name, plaintext, rand=rand)
        resealed.append(name)
    return ResealResult(values, tuple(resealed), tuple(kept), failed)
