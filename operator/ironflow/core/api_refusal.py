"""An API server refusal of a projected object -> a reason safe to show in CR status.

A Secret `type` brings the API server's own rules (a kubernetes.io/tls Secret needs tls.crt and
tls.key; a dockerconfigjson one must parse as JSON), and when the projection breaks them the user
needs the API server's reason, not just "422 Invalid". But the message can carry a fragment of
the data (Go's JSON error quotes the offending character), so only the field paths and the
error type of each cause are kept (`data[tls.key]: Required value`), never a detail.
"""

from __future__ import annotations

import re
from typing import Final

# Field-error types as k8s.io/apimachinery/pkg/util/validation/field prints them.
_TYPES: Final = (
    "Required value",
    "Invalid value",
    "Unsupported value",
    "Duplicate value",
    "Forbidden",
    "Too long",
    "Too many",
    "Not found",
    "Internal error",
)
_CAUSE_RE: Final = re.compile(
    r"((?:data|stringData|type|metadata)(?:\[[-._a-zA-Z0-9]+\]|\.[a-zA-Z]+)*): (" + "|".join(_TYPES) + ")"
)
MAX_CAUSES: Final = 5


def describe_refusal(status: int, reason: str, message: str) -> str:
    """`the API server answered 422 Invalid: data[tls.key]: Required value` (no value fragments)."""
    causes: list[str] = []
    for match in _CAUSE_RE.finditer(message):
        cause = f"{match.group(1)}: {match.group(2)}"
        if cause not in causes:
            causes.append(cause)
    text = f"the API server answered {status} {reason}"
    if causes:
        text += ": " + "; ".join(causes[:MAX_CAUSES])
    if "field is immutable" in message:
        text += " (the field is immutable: delete the projected object to change it)"
    return text
