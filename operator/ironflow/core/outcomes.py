"""What happens to each name of a resource: unsealed, failed (and why), or lost to an older definer.

Kept apart from the projection so the one place that touches plaintext is small and easy to read:
a failure carries only a reason token and a message built from non-secret facts (crypto errors
never quote values), and the plaintext lives only in `NameOutcome.value`, which has no repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from ironflow.core.crypto import MalformedSealedValue, UnknownFormatVersion, UnsealError, is_dev_form, unseal
from ironflow.core.keyring import Keyring
from ironflow.core.model import SECRET_KIND, Resource
from ironflow.core.sealed_format import parse_sealed

Mode = Literal["keyed", "dev", "no-key", "invalid-key"]
State = Literal["Projected", "Failed", "Conflict", "Pending"]
MASTER_KEY_INVALID: Final = "MasterKeyInvalid"
NO_MASTER_KEY: Final = "NoMasterKey"
NAME_CONFLICT: Final = "NameConflict"
INVALID_NAME: Final = "InvalidEntry"


@dataclass(frozen=True)
class KeyState:
    """The master key as the operator last read it: a keyring, or the reason it is unusable.

    An empty keyring (no key in the Secret, or no Secret) is development mode only when the
    operator was started with --dev-mode (`dev_mode_allowed`); otherwise it is `no-key`, which
    unseals nothing and keeps every projection: deleting the key must never open the door to
    plaintext values.
    """

    keyring: Keyring | None
    problem: str | None = None
    dev_mode_allowed: bool = False

    @property
    def mode(self) -> Mode:
        if self.keyring is None:
            return "invalid-key"
        if self.keyring.dev_mode:
            return "dev" if self.dev_mode_allowed else "no-key"
        return "keyed"

    @property
    def kid(self) -> str | None:
        if self.keyring is None or self.keyring.current is None:
            return None
        return self.keyring.current.kid

    def fingerprint(self) -> tuple[str, tuple[str, ...], str | None, int, bytes]:
        """Equal fingerprints mean unsealing and what is published behave the same; used to decide
        whether to re-reconcile and re-publish (the signer chain can change on its own)."""
        chain = self.keyring.chain if self.keyring else ()
        tail = chain[-1].signature if chain else b""
        return (self.mode, self.keyring.kids if self.keyring else (), self.problem, len(chain), tail)


@dataclass(frozen=True)
class NameOutcome:
    state: State
    reason: str = ""
    message: str = ""
    key_id: str | None = None
    value: bytes | None = field(default=None, repr=False, compare=False)


def sealed_key_id(sealed: str) -> str | None:
    """The key id a sealed string names; None for dev-form or unparsable values."""
    if is_dev_form(sealed):
        return None
    try:
        return parse_sealed(sealed).kid
    except (MalformedSealedValue, UnknownFormatVersion):
        return None


def _secret_outcome(resource: Resource, name: str, sealed: str, keys: KeyState) -> NameOutcome:
    kid = sealed_key_id(sealed)
    if keys.keyring is None:
        return NameOutcome(
            "Failed", MASTER_KEY_INVALID, f"{name}: not unsealed, the master key is malformed", kid
        )
    if keys.mode == "no-key":
        return NameOutcome(
            "Failed", NO_MASTER_KEY, f"{name}: not unsealed, the operator has no master key", kid
        )
    try:
        value = unseal(keys.keyring, resource.namespace, name, sealed, allow_dev=True)
    except UnsealError as exc:
        return NameOutcome("Failed", exc.reason, f"{name}: {exc.message}", kid)
    return NameOutcome("Projected", key_id=kid, value=value)


def evaluate(resource: Resource, keys: KeyState, lost: Mapping[str, str]) -> dict[str, NameOutcome]:
    """`lost` maps names this resource defines but an older resource owns to that resource's name."""
    outcomes: dict[str, NameOutcome] = {}
    for name, reason in resource.invalid.items():
        outcomes[name] = NameOutcome("Failed", INVALID_NAME, reason)
    for name, entry in resource.entries.items():
        if name in lost:
            outcomes[name] = NameOutcome(
                "Conflict",
                NAME_CONFLICT,
                f"{name} is already defined by the older {resource.kind} {lost[name]} in this environment",
            )
        elif resource.kind == SECRET_KIND:
            outcomes[name] = _secret_outcome(resource, name, entry, keys)
        else:
            outcomes[name] = NameOutcome("Projected", value=entry.encode("utf-8"))
    return dict(sorted(outcomes.items()))
