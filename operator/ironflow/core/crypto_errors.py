"""Typed unseal failures.

Each carries a CamelCase ``reason`` for status conditions and metric labels, and a one-line message
built only from facts that are not secret (key ids, namespace, NAME, lengths, format versions). The
sealed string itself is never quoted: a user may paste plaintext where a sealed value belongs, and
the error must not become the leak.
"""

from __future__ import annotations

from collections.abc import Sequence


class UnsealError(ValueError):
    """Base for everything unseal() refuses; callers catch this one type."""

    reason: str = "UnsealError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class MalformedSealedValue(UnsealError):
    reason = "MalformedSealedValue"


class UnknownFormatVersion(UnsealError):
    reason = "UnknownFormatVersion"

    def __init__(self, version: int, supported: int) -> None:
        super().__init__(
            f"sealed value uses format v{version}, this build understands v{supported}; "
            "upgrade the operator or re-seal with a matching CLI"
        )
        self.version = version


class WrongKey(UnsealError):
    reason = "WrongKey"

    def __init__(self, kid: str, known_kids: Sequence[str]) -> None:
        # known_kids: the current key first, then the previous ones. A kid outside them is unknown
        # here (another cluster's key, or one retired): the operator cannot unseal, so neither can
        # it reseal, such a value; only sealing it again (or giving back that key) helps.
        held = f"current {known_kids[0]}" if known_kids else "none"
        if len(known_kids) > 1:
            held += f", previous {', '.join(known_kids[1:])}"
        super().__init__(
            f"sealed for unknown key id {kid}, not among the operator's keys ({held}): sealed for "
            "another cluster or with a retired key; seal it again for this environment (ironflow secret "
            "set, or ironflow secret seal with its published key), or add that master key to "
            "IRONFLOW_PREVIOUS_KEYS"
        )
        self.kid = kid
        self.known_kids = tuple(known_kids)


class AuthenticationFailed(UnsealError):
    reason = "AuthenticationFailed"

    def __init__(self, namespace: str, name: str) -> None:
        super().__init__(
            f"sealed value for {name} in namespace {namespace} failed authentication: it was altered, "
            "or sealed for another namespace or name"
        )


class DevValueRefused(UnsealError):
    reason = "DevValueRefused"


class NoMasterKey(UnsealError):
    reason = "NoMasterKey"

    def __init__(self, kid: str) -> None:
        super().__init__(
            f"value is sealed (key id {kid}) but the operator runs in development mode without a master key; "
            "create the ironflow-master-key Secret"
        )
        self.kid = kid


class InvalidTarget(UnsealError):
    """The namespace or NAME asked for cannot be a seal target, so nothing sealed can match it."""

    reason = "InvalidTarget"


class ValueTooLarge(ValueError):
    """Raised by seal(): the plaintext exceeds the documented limit (see docs/crypto.md)."""

    reason = "ValueTooLarge"
