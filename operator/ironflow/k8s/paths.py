"""API paths built from names: the one place a name becomes a URL path segment.

Namespaces and object names reach paths from request bodies (the pod webhook), from users (the
CLI) and from watched objects. Pasted raw, a namespace such as `x/../../api/v1/...` or
`x/ironflowconfigs?` would make the caller read another path with its own identity. So every
hand-built path goes through `segment`, which refuses what the API server itself refuses as a
path segment name (empty, `.`, `..`, anything with `/` or `%`; ValidatePathSegmentName) and
percent-encodes everything else (`?`, `#`, whitespace, newlines), so a name stays one segment.
Refusing rather than encoding `/` and `%` matters: the API server decodes the path before
splitting it, so an encoded slash would still become a separator there.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, unquote

_DOT_SEGMENTS: Final = frozenset({"", ".", ".."})
_FORBIDDEN: Final = ("/", "%")


class InvalidPathSegment(ValueError):
    """A name that cannot be a path segment; the message does not repeat it (it may be hostile)."""


def segment(name: str) -> str:
    """`name` as exactly one path segment, or InvalidPathSegment."""
    if not isinstance(name, str) or name in _DOT_SEGMENTS or any(c in name for c in _FORBIDDEN):
        raise InvalidPathSegment("a name in an API path must be non-empty, not '.' or '..', without / or %")
    return quote(name, safe="")


def core_path(resource: str, namespace: str | None = None, name: str | None = None,
              sub: str | None = None) -> str:
    """`/api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]]` with every name escaped."""
    return _path("/api/v1", resource, namespace, name, sub)


def group_path(group_version: str, resource: str, namespace: str | None = None,
               name: str | None = None, sub: str | None = None) -> str:
    """`/apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]` with every name escaped."""
    return _path(f"/apis/{group_version}", resource, namespace, name, sub)


def _path(base: str, resource: str, namespace: str | None, name: str | None, sub: str | None) -> str:
    parts = [base]
    if namespace is not None:
        parts += ["namespaces", segment(namespace)]
    parts.append(segment(resource))
    if name is not None:
        parts.append(segment(name))
    if sub is not None:
        parts.append(segment(sub))
    return "/".join(parts)


def namespace_of(path: str) -> str | None:
    """The namespace a request path writes in (`/api/v1/namespaces/NS/...`,
    `/apis/G/V/namespaces/NS/...`); None for a cluster-scoped path, a Namespace object included."""
    parts = path.split("?", 1)[0].split("/")
    at = 3 if parts[1:2] == ["api"] else 4 if parts[1:2] == ["apis"] else 0
    if at and len(parts) > at + 2 and parts[at] == "namespaces" and parts[at + 2]:
        return unquote(parts[at + 1])
    return None
