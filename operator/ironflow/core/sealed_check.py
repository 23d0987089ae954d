"""One sealed value + what its environment publishes -> is it fit to commit? (no key needed)

`ironflow validate` answers before a merge what the operator would otherwise answer after a
sync: is the string well-formed, and sealed for the key id the environment publishes? Whether
it was sealed for this namespace and NAME cannot be known without the master key (they are
authenticated data inside the ciphertext); the operator's status answers that, per name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ironflow.core.crypto_errors import MalformedSealedValue, UnknownFormatVersion
from ironflow.core.names import InvalidName, validate_name
from ironflow.core.sealed_format import is_dev_form, parse_sealed

Severity = Literal["ok", "warning", "error", "skipped"]


@dataclass(frozen=True)
class Check:
    severity: Severity
    reason: str
    message: str
    key_id: str | None = None


def check_sealed(name: object, sealed: object, mode: str | None, published_kid: str | None) -> Check:
    """`mode`/`published_kid` are the environment's (keyed/dev); None when unknown (not checked)."""
    try:
        validate_name(name)
    except InvalidName as exc:
        return Check("error", "InvalidName", str(exc))
    if not isinstance(sealed, str):
        return Check("error", "NotAString", f"value for {name} must be a sealed string")
    if is_dev_form(sealed):
        if mode == "dev":
            return Check("warning", "DevForm", f"{name} is in the plaintext dev form (development mode only)")
        return Check(
            "error",
            "DevForm",
            f"{name} is in the plaintext dev form, which an operator with a master key refuses",
        )
    try:
        parsed = parse_sealed(sealed)
    except (MalformedSealedValue, UnknownFormatVersion) as exc:
        return Check("error", type(exc).__name__, f"{name}: {exc}")
    if mode == "dev":
        return Check("warning", "DevMode", f"{name}: the environment is in development mode", parsed.kid)
    if published_kid is None:
        return Check("ok", "Wellformed", f"{name} is well-formed (key id not checked)", parsed.kid)
    if parsed.kid != published_kid:
        return Check(
            "error",
            "WrongKeyId",
            f"{name} is sealed for key id {parsed.kid}, not the published {published_kid}: "
            "seal it again for this environment (or reseal after a rotation)",
            parsed.kid,
        )
    return Check("ok", "Sealed", f"{name} is sealed for the published key id {published_kid}", parsed.kid)
