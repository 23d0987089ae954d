"""User mistakes and cluster trouble as one-line reasons with documented exit codes.

Exit codes (docs/cli.md): 0 success, 1 the request cannot be done as asked (unknown environment,
invalid name, no sealing key yet, rejected by the API server), 2 usage (click's own), 3 the
cluster is not available (none named, unreachable, credentials refused, CRDs not installed).
A traceback is never the answer to a user mistake; it is kept for real bugs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import click

from ironflow.core.crypto import InvalidSealingKey, UnsealError, ValueTooLarge
from ironflow.core.names import InvalidName, InvalidNamespace
from ironflow.k8s.config import ClusterNotNamed
from ironflow.k8s.sync_errors import (
    ApiError,
    ClusterUnavailable,
    Forbidden,
    InvalidPathSegment,
    NamespaceNotFound,
)

EXIT_OK: Final = 0
EXIT_USER: Final = 1
EXIT_USAGE: Final = 2
EXIT_CLUSTER: Final = 3


def one_line(text: str) -> str:
    return " ".join(str(text).split())


class UserError(click.ClickException):
    exit_code = EXIT_USER

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class ClusterError(click.ClickException):
    exit_code = EXIT_CLUSTER

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def unknown_environment(namespace: str, where: str = "", hint: str = "") -> UserError:
    at = f" in {where}" if where else ""
    return UserError(f"unknown environment {namespace}: namespace {namespace} does not exist{at}{hint}")


def redact(message: str, secrets: Iterable[str]) -> str:
    """Belt and braces: an API error must not echo a value we sent (dev mode sends plaintext)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "<value>")
    return message


def translate(exc: BaseException) -> click.ClickException | None:
    """The one place library errors become CLI errors; None for anything that is a real bug."""
    if isinstance(exc, ClusterNotNamed):
        return ClusterError(str(exc))
    if isinstance(exc, NamespaceNotFound):
        return unknown_environment(exc.namespace)
    if isinstance(exc, Forbidden):
        return ClusterError(f"the cluster refused the request: {exc.message}")
    if isinstance(exc, ClusterUnavailable):
        return ClusterError(exc.message)
    if isinstance(exc, ApiError):
        return UserError(exc.message)
    if isinstance(exc, InvalidSealingKey | InvalidName | InvalidNamespace | ValueTooLarge | UnsealError
                  | InvalidPathSegment):
        return UserError(str(exc))
    return None
