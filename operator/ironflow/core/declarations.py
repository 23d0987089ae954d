"""Pod annotations -> what the pod declares it gets.

A pod asks for values by name, never by resource (docs/reference.md, "Pod annotations"). The
parse is strict because a typo here is a pod that silently starts without its password: every
malformed annotation is refused with a message that quotes the annotation and the offending
entry, so `kubectl apply` shows the user exactly what to fix. Names are not secret, so quoting
them is fine; values never pass through here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ironflow.core.names import InvalidName, is_env_name, validate_name

SECRETS_ANNOTATION: Final = "ironflow.io/secrets"
CONFIGS_ANNOTATION: Final = "ironflow.io/configs"
PROJECTION_ANNOTATION: Final = "ironflow.io/projection"
CONTAINERS_ANNOTATION: Final = "ironflow.io/containers"
DECLARING_ANNOTATIONS: Final = (SECRETS_ANNOTATION, CONFIGS_ANNOTATION)
PREFIX: Final = "ironflow.io/"
# Every ironflow.io/ annotation a pod may legitimately carry: what users write, plus what Ironflow
# itself writes on pods or pod templates (injection record, rollout bookkeeping; rollout-on and the
# opt-out belong on the workload, but copying them to the template is harmless). Anything else
# under the prefix is a typo that would silently do nothing (tests/unit keeps this in step).
KNOWN_ANNOTATIONS: Final = frozenset({
    SECRETS_ANNOTATION, CONFIGS_ANNOTATION, PROJECTION_ANNOTATION, CONTAINERS_ANNOTATION,
    "ironflow.io/injected", "ironflow.io/rollout-digest", "ironflow.io/observed-versions",
    "ironflow.io/rollout", "ironflow.io/rollout-on",
})
_USER_ANNOTATIONS: Final = (
    SECRETS_ANNOTATION, CONFIGS_ANNOTATION, PROJECTION_ANNOTATION, CONTAINERS_ANNOTATION,
    "ironflow.io/rollout-on",
)

Kind = Literal["secret", "config"]
MODES: Final = ("env", "files")
_SOURCES: Final[tuple[tuple[Kind, str], ...]] = (
    ("secret", SECRETS_ANNOTATION),
    ("config", CONFIGS_ANNOTATION),
)

# A container name is an RFC 1123 DNS label (what the API server accepts for containers).
_CONTAINER_RE: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class DeclarationError(ValueError):
    """An annotation the user wrote cannot be understood; the message says which and why."""


@dataclass(frozen=True)
class DeclaredName:
    kind: Kind
    name: str
    optional: bool


@dataclass(frozen=True)
class Declaration:
    """Everything the annotations say, in the order the user wrote it (so patches are stable)."""

    names: tuple[DeclaredName, ...]
    env: bool
    files: bool
    containers: tuple[str, ...] | None  # None: every container and init container

    def of_kind(self, kind: Kind) -> tuple[DeclaredName, ...]:
        return tuple(n for n in self.names if n.kind == kind)

    @property
    def mode(self) -> str:
        return ",".join(m for m, on in (("env", self.env), ("files", self.files)) if on)


def declares_anything(annotations: Mapping[str, str] | None) -> bool:
    """The same test the admission matchConditions make, so the two cannot drift apart."""
    if not annotations:
        return False
    return any(a in annotations for a in DECLARING_ANNOTATIONS)


def unknown_annotation_warnings(annotations: Mapping[str, str] | None) -> list[str]:
    """One warning per ironflow.io/ key that Ironflow does not know (`ironflow.io/secret`), with the
    closest known key: an admission warning, because the pod itself is fine, just not what was meant."""
    out = []
    for key in sorted(annotations or {}):
        if not key.startswith(PREFIX) or key in KNOWN_ANNOTATIONS:
            continue
        close = difflib.get_close_matches(key, _USER_ANNOTATIONS, n=1, cutoff=0.6)
        hint = f": did you mean {close[0]}?" if close else f" (known: {', '.join(_USER_ANNOTATIONS)})"
        out.append(f"annotation {key} is not an Ironflow annotation and does nothing{hint}")
    return out


def parse_declaration(annotations: Mapping[str, str] | None) -> Declaration | None:
    """None when the pod declares nothing; DeclarationError when it declares badly."""
    if annotations is None or not declares_anything(annotations):
        return None
    names: list[DeclaredName] = []
    for kind, key in _SOURCES:
        if key in annotations:
            names.extend(_parse_names(kind, key, annotations[key]))
    env, files = _parse_projection(annotations.get(PROJECTION_ANNOTATION))
    _refuse_duplicates(names, env)
    _refuse_env_only_files_names(names, env, files)
    containers = _parse_containers(annotations.get(CONTAINERS_ANNOTATION))
    return Declaration(names=tuple(names), env=env, files=files, containers=containers)


def _items(key: str, raw: object) -> list[str]:
    if not isinstance(raw, str):
        raise DeclarationError(f"{key}: must be a string")
    if not raw.strip():
        raise DeclarationError(f"{key}: is empty; list at least one entry, comma-separated, or remove it")
    items = [item.strip() for item in raw.split(",")]
    for position, item in enumerate(items, start=1):
        if not item:
            raise DeclarationError(f"{key}: entry {position} of {raw!r} is empty (stray comma?)")
    return items


def _parse_names(kind: Kind, key: str, raw: object) -> list[DeclaredName]:
    out: list[DeclaredName] = []
    for item in _items(key, raw):
        optional = item.endswith("?")
        name = item[:-1].rstrip() if optional else item
        try:
            validate_name(name)
        except InvalidName as e:
            raise DeclarationError(f"{key}: {e}") from None
        out.append(DeclaredName(kind=kind, name=name, optional=optional))
    return out


def _parse_projection(raw: str | None) -> tuple[bool, bool]:
    if raw is None:
        return True, False
    modes = _items(PROJECTION_ANNOTATION, raw)
    for mode in modes:
        if mode not in MODES:
            raise DeclarationError(
                f"{PROJECTION_ANNOTATION}: unknown mode {mode!r}; use env, files or env,files"
            )
    if len(set(modes)) != len(modes):
        raise DeclarationError(f"{PROJECTION_ANNOTATION}: {raw!r} names a mode twice")
    return "env" in modes, "files" in modes


def _refuse_duplicates(names: list[DeclaredName], env: bool) -> None:
    seen: dict[tuple[str, str], DeclaredName] = {}
    for n in names:
        if (n.kind, n.name) in seen:
            key = SECRETS_ANNOTATION if n.kind == "secret" else CONFIGS_ANNOTATION
            raise DeclarationError(f"{key}: {n.name} is listed twice")
        seen[(n.kind, n.name)] = n
    if env:
        clash = sorted(
            {n.name for n in names if n.kind == "secret"} & {n.name for n in names if n.kind == "config"}
        )
        if clash:
            raise DeclarationError(
                f"{clash[0]} is declared both in {SECRETS_ANNOTATION} and {CONFIGS_ANNOTATION}; "
                "as environment variables they would collide: declare it once"
            )


def _refuse_env_only_files_names(names: list[DeclaredName], env: bool, files: bool) -> None:
    """A key like `tls.crt` cannot be an environment variable; in env,files mode it is a file only."""
    if not env or files:
        return
    for n in names:
        if not is_env_name(n.name):
            key = SECRETS_ANNOTATION if n.kind == "secret" else CONFIGS_ANNOTATION
            raise DeclarationError(
                f"{key}: {n.name} is not an environment variable name, so it cannot be injected as env; "
                f"use files mode ({PROJECTION_ANNOTATION}: files, or env,files), which mounts it at "
                f"/var/run/ironflow/{_DIRS[n.kind]}/{n.name}"
            )


_DIRS: Final = {"secret": "secrets", "config": "configs"}


def _parse_containers(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    items = _items(CONTAINERS_ANNOTATION, raw)
    for item in items:
        if len(item) > 63 or _CONTAINER_RE.fullmatch(item) is None:
            raise DeclarationError(f"{CONTAINERS_ANNOTATION}: {item!r} is not a valid container name")
    if len(set(items)) != len(items):
        raise DeclarationError(f"{CONTAINERS_ANNOTATION}: {raw!r} names a container twice")
    return tuple(items)
