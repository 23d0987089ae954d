"""The NAME rule shared by CRDs, sealing, projection and the pod webhook.

A NAME is a key of the projected Secret or ConfigMap, so it follows the API server's own key rule
(`tls.crt`, `.dockerconfigjson` and `config.yaml` included; `.`/`..` and a leading `..` are
refused there as path tricks, and so here). Only a NAME that is also a portable environment
variable name can be injected as env; any other is mounted as a file, and the webhook says so.
Namespaces are checked here too because sealing binds every value to its namespace, and a value
sealed for a namespace that cannot exist would be a silent mistake.
"""

from __future__ import annotations

import re
from typing import Final

NAME_PATTERN: Final = r"^[-._a-zA-Z0-9]+$"
ENV_NAME_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_NAME_LENGTH: Final = 253

NAMESPACE_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
MAX_NAMESPACE_LENGTH: Final = 63

# fullmatch, not the "$" in the published pattern: "$" would also accept a trailing newline.
_NAME_RE: Final = re.compile(NAME_PATTERN[1:-1])
_ENV_NAME_RE: Final = re.compile(ENV_NAME_PATTERN[1:-1])
_NAMESPACE_RE: Final = re.compile(NAMESPACE_PATTERN[1:-1])


class InvalidName(ValueError):
    """A NAME that cannot be a Secret/ConfigMap key; names are not secret, so it is quoted."""


class InvalidNamespace(ValueError):
    """A namespace that is not an RFC 1123 DNS label, so no environment could carry it."""


def _dot_trick(name: str) -> bool:
    """The API server refuses keys `.`, `..` and `..x`: as file names they would leave the volume."""
    return name in (".", "..") or name.startswith("..")


def is_valid_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME_LENGTH
        and _NAME_RE.fullmatch(name) is not None
        and not _dot_trick(name)
    )


def is_env_name(name: object) -> bool:
    """A NAME a pod may get as an environment variable (any valid NAME may be a file)."""
    return is_valid_name(name) and _ENV_NAME_RE.fullmatch(str(name)) is not None


def validate_name(name: object) -> None:
    if not isinstance(name, str):
        raise InvalidName(f"name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidName("name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"name {name[:40]!r}... is {len(name)} characters long; at most {MAX_NAME_LENGTH}")
    if _NAME_RE.fullmatch(name) is None:
        raise InvalidName(
            f"name {name!r} is not a valid Secret/ConfigMap key: use letters, digits, '-', '_' and '.'"
        )
    if _dot_trick(name):
        raise InvalidName(f"name {name!r} must not be '.' or '..' nor start with '..'")


def is_valid_namespace(namespace: object) -> bool:
    return (
        isinstance(namespace, str)
        and 0 < len(namespace) <= MAX_NAMESPACE_LENGTH
        and _NAMESPACE_RE.fullmatch(namespace) is not None
    )


def validate_namespace(namespace: object) -> None:
    if not isinstance(namespace, str):
        raise InvalidNamespace(f"namespace must be a string, not {type(namespace).__name__}")
    if not namespace:
        raise InvalidNamespace("namespace must not be empty")
    if len(namespace) > MAX_NAMESPACE_LENGTH:
        raise InvalidNamespace(
            f"namespace {namespace[:40]!r}... is {len(namespace)} characters long; "
            f"at most {MAX_NAMESPACE_LENGTH}"
        )
    if _NAMESPACE_RE.fullmatch(namespace) is None:
        raise InvalidNamespace(
            f"namespace {namespace!r} is not a DNS label: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
