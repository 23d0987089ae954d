"""What can go wrong talking to the API server, as types the CLI can turn into one-line reasons.

The Kubernetes client raises one exception type for every HTTP status and lets urllib3 errors
through untouched; a person at a terminal needs to know instead whether the cluster is out of
reach, refused their credentials, or rejected what they asked for. The split below follows the
CLI's exit codes: everything under ClusterUnavailable is about the cluster (exit 3), the rest
is about the request (exit 1).
"""

from __future__ import annotations

import json
from typing import Any

# Raised before any request when a name cannot be a path segment; named here with the errors the
# CLI handles, so that the CLI needs nothing from the path builders.
from ironflow.k8s.paths import InvalidPathSegment as InvalidPathSegment


class ApiError(Exception):
    """A request the API server answered with an error; the message is the server's own words."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class ClusterUnavailable(ApiError):
    """Not the request's fault: nothing answered, or the cluster would not let us in."""


class Unreachable(ClusterUnavailable):
    pass


class Forbidden(ClusterUnavailable):
    """401 or 403: the credentials in the kubeconfig are wrong or lack the permission."""


class ServerFailure(ClusterUnavailable):
    """5xx or an answer that is not Kubernetes' own error format."""


class UnknownResourceType(ClusterUnavailable):
    """The API server does not serve the type: the Ironflow CRDs are not installed."""


class BadKubeconfig(ClusterUnavailable):
    """The named kubeconfig cannot be used (no such context, unreadable, no credentials)."""


class NotFound(ApiError):
    pass


class NamespaceNotFound(NotFound):
    def __init__(self, namespace: str) -> None:
        super().__init__(f"namespace {namespace} does not exist", status=404, reason="NotFound")
        self.namespace = namespace


class AlreadyExists(ApiError):
    pass


class Conflict(ApiError):
    pass


class Invalid(ApiError):
    """400/422: the server rejected the content (schema, CEL rule, malformed patch)."""


def _status_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _resource_type(what: str) -> str:
    """`GET /apis/ironflow.io/v1alpha1/namespaces/x/ironflowsecrets/app` -> ironflowsecrets.ironflow.io."""
    parts = what.split(" ", 1)[-1].split("?")[0].strip("/").split("/")
    if len(parts) >= 4 and parts[0] == "apis":
        rest = parts[3:]
        if rest[0] == "namespaces" and len(rest) >= 3:
            rest = rest[2:]
        return f"{rest[0]}.{parts[1]}"
    return what


def from_status(status: int, body: Any, what: str) -> ApiError:
    """Classify an HTTP error answer; `what` names the request for answers that carry no message."""
    doc = _status_body(body)
    message = str(doc.get("message") or "").strip() or f"{what}: HTTP {status}"
    reason = str(doc.get("reason") or "")
    details = doc.get("details") if isinstance(doc.get("details"), dict) else {}
    assert isinstance(details, dict)
    if status in (401, 403):
        return Forbidden(message, status=status, reason=reason)
    if status == 404:
        if not doc or reason != "NotFound" or not details.get("name"):
            return UnknownResourceType(
                f"the API server does not serve {_resource_type(what)}: are the Ironflow CRDs installed?",
                status=status,
                reason=reason,
            )
        if details.get("kind") == "namespaces":
            return NamespaceNotFound(str(details.get("name")))
        return NotFound(message, status=status, reason=reason)
    if status == 409:
        cls: type[ApiError] = AlreadyExists if reason == "AlreadyExists" else Conflict
        return cls(message, status=status, reason=reason)
    if status in (400, 422):
        return Invalid(message, status=status, reason=reason)
    return ServerFailure(message, status=status, reason=reason)
