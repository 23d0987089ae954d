"""Declaration + environment + pod -> the JSON patch that gives the pod exactly what it declared.

Exactly, because the contract is "pods declare what they get": one env entry or one file per
declared name that the environment defines, pointing at the projected object that owns it,
nothing else. The function is pure and idempotent: the API server may call the webhook again
(reinvocation) or with dryRun, and a pod that already carries the injection gets no duplicate.
What the user wrote wins: an env var they set themselves is left alone, with a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ironflow.core.declarations import CONTAINERS_ANNOTATION, Declaration, DeclaredName
from ironflow.core.environment_view import EnvironmentView
from ironflow.core.injection_readiness import kept_value, not_projected
from ironflow.core.names import is_env_name

RECORD_ANNOTATION: Final = "ironflow.io/injected"
VOLUME_NAME: Final = "ironflow-declared"
MOUNT_PATH: Final = "/var/run/ironflow"
_DIRS: Final = {"secret": "secrets", "config": "configs"}

Json = dict[str, Any]


class InjectionRefused(ValueError):
    """The pod must not be admitted; the message names what is wrong (never a value)."""


@dataclass(frozen=True)
class Injection:
    patch: list[Json]
    warnings: list[str] = field(default_factory=list)
    record: str = ""


def plan_injection(declaration: Declaration, view: EnvironmentView, pod: Mapping[str, Any]) -> Injection:
    warnings: list[str] = []
    resolved, absent = _resolve(declaration, view, warnings)
    spec = pod.get("spec") or {}
    targets = _targets(declaration, spec)
    patch: list[Json] = []
    left: list[str] = []
    files = declaration.files and bool(resolved)  # an empty projected volume would only confuse
    for path, container in targets:
        if declaration.env:
            patch.extend(_env_ops(path, container, resolved, left))
        if files:
            patch.extend(_mount_ops(path, container))
    if files:
        patch.extend(_volume_ops(spec, resolved))
    for entry in left:
        cname, name = entry.split("/", 1)
        warnings.append(f"container {cname} already sets {name}; left as written, Ironflow did not inject it")
    record = _record(declaration, resolved, absent, [c.get("name", "") for _, c in targets], left)
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(RECORD_ANNOTATION) != record:
        patch.append({"op": "add", "path": "/metadata/annotations/ironflow.io~1injected", "value": record})
    return Injection(patch=patch, warnings=warnings, record=record)


OBJECT_KIND = {"secret": "Secret", "config": "ConfigMap"}


def _resolve(
    declaration: Declaration, view: EnvironmentView, warnings: list[str]
) -> tuple[list[tuple[DeclaredName, str]], list[str]]:
    resolved: list[tuple[DeclaredName, str]] = []
    absent: list[str] = []
    missing: list[str] = []
    foreign: list[str] = []
    unprojected: list[str] = []
    for d in declaration.names:
        source = view.source(d.kind, d.name)
        if source is not None and view.is_foreign(d.kind, source):
            if d.optional:
                absent.append(d.name)
            else:
                foreign.append(f"{d.kind} {d.name} (its {OBJECT_KIND[d.kind]} {source})")
        elif source is not None and view.version(d.kind, d.name) is None:
            # Defined, but its projected object has never held a value of it: a pod pointed at it
            # would only fail at container start (the kubelet finds no such key).
            why = not_projected(view, d, source)
            if d.optional:
                absent.append(d.name)
                warnings.append(f"optional {why}; left out")
            else:
                unprojected.append(why)
        elif source is not None:
            resolved.append((d, source))
            kept = kept_value(view, d)
            if kept:
                warnings.append(kept)
        elif d.optional:
            absent.append(d.name)
        else:
            missing.append(f"{d.kind} {d.name}")
    if foreign:
        raise InjectionRefused(
            f"environment {view.namespace} defines {', '.join(foreign)}, but that object is not managed "
            "by Ironflow (ownership conflict), so it is not what Ironflow would project; remove or "
            "rename the foreign object, or the resource defining the name"
        )
    if missing:
        raise InjectionRefused(
            f"environment {view.namespace} does not define {', '.join(missing)}; define it with "
            f"`ironflow secret set`/`ironflow config set`, or mark it optional with '?'"
        )
    if unprojected:
        raise InjectionRefused(
            f"environment {view.namespace} has not projected what this pod requires, so its containers "
            f"could not start: {'; '.join(unprojected)}"
        )
    return resolved, absent


# The refusal above, as a ReplicaSet's FailedCreate condition quotes it; `ironflow status` reads it
# back to name the missing names and the command that defines them (a unit test round-trips it).
_MISSING = re.compile(
    r"environment (?P<ns>[-a-z0-9]+) does not define "
    r"(?P<names>(?:secret|config) [-._a-zA-Z0-9]+(?:, (?:secret|config) [-._a-zA-Z0-9]+)*);"
)


def missing_from_refusal(message: str) -> tuple[str, list[tuple[str, str]]] | None:
    """(environment, [(kind, NAME)]) when `message` carries a missing-name refusal, else None."""
    found = _MISSING.search(message)
    if found is None:
        return None
    pairs = [item.split(" ", 1) for item in found["names"].split(", ")]
    return found["ns"], [(kind, name) for kind, name in pairs]


def _targets(declaration: Declaration, spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    all_: list[tuple[str, Mapping[str, Any]]] = []
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            all_.append((f"/spec/{key}/{i}", c))
    if declaration.containers is None:
        return all_
    known = [str(c.get("name")) for _, c in all_]
    for wanted in declaration.containers:
        if wanted not in known:
            raise InjectionRefused(
                f"{CONTAINERS_ANNOTATION}: no container named {wanted!r} in this pod "
                f"(containers: {', '.join(known) or 'none'})"
            )
    return [(p, c) for p, c in all_ if c.get("name") in declaration.containers]


def env_entry(d: DeclaredName, source: str) -> Json:
    ref_kind = "secretKeyRef" if d.kind == "secret" else "configMapKeyRef"
    ref: Json = {"name": source, "key": d.name}
    if d.optional:
        ref["optional"] = True
    return {"name": d.name, "valueFrom": {ref_kind: ref}}


def _env_ops(
    path: str, container: Mapping[str, Any], resolved: list[tuple[DeclaredName, str]], left: list[str]
) -> list[Json]:
    existing = {e.get("name"): e for e in container.get("env") or []}
    new: list[Json] = []
    for d, source in resolved:
        if not is_env_name(d.name):  # a file-only key (tls.crt): env,files mode mounts it, no env entry
            continue
        entry = env_entry(d, source)
        if d.name in existing:
            if existing[d.name] != entry:
                left.append(f"{container.get('name')}/{d.name}")
            continue
        new.append(entry)
    if not new:
        return []
    if "env" not in container or container["env"] is None:
        return [{"op": "add", "path": f"{path}/env", "value": new}]
    return [{"op": "add", "path": f"{path}/env/-", "value": e} for e in new]


def mount() -> Json:
    return {"name": VOLUME_NAME, "mountPath": MOUNT_PATH, "readOnly": True}


def _mount_ops(path: str, container: Mapping[str, Any]) -> list[Json]:
    mounts = container.get("volumeMounts") or []
    for m in mounts:
        if m.get("name") == VOLUME_NAME and m.get("mountPath") == MOUNT_PATH:
            return []
        if m.get("mountPath") == MOUNT_PATH or m.get("name") == VOLUME_NAME:
            raise InjectionRefused(
                f"container {container.get('name')} already mounts {m.get('name')} at "
                f"{m.get('mountPath')}; Ironflow files go to {MOUNT_PATH} (volume {VOLUME_NAME})"
            )
    if "volumeMounts" not in container or container["volumeMounts"] is None:
        return [{"op": "add", "path": f"{path}/volumeMounts", "value": [mount()]}]
    return [{"op": "add", "path": f"{path}/volumeMounts/-", "value": mount()}]


def volume(resolved: list[tuple[DeclaredName, str]]) -> Json:
    """One projected volume; items grouped per (object, optional) since optional is per source."""
    groups: dict[tuple[str, str, bool], list[Json]] = {}
    for d, source in resolved:
        groups.setdefault((d.kind, source, d.optional), []).append(
            {"key": d.name, "path": f"{_DIRS[d.kind]}/{d.name}"}
        )
    sources: list[Json] = []
    for (kind, source, optional), items in groups.items():
        body: Json = {"name": source, "items": items}
        if optional:
            body["optional"] = True
        sources.append({"secret" if kind == "secret" else "configMap": body})
    return {"name": VOLUME_NAME, "projected": {"sources": sources}}


def normalized_volume(v: Mapping[str, Any]) -> Json:
    """The volume without what the API server fills in (defaultMode, optional: false), for comparing."""
    sources: list[Json] = []
    for src in (v.get("projected") or {}).get("sources") or []:
        for kind in ("secret", "configMap"):
            if kind in src:
                body = src[kind] or {}
                items = [{"key": i.get("key"), "path": i.get("path")} for i in body.get("items") or []]
                sources.append(
                    {kind: {"name": body.get("name"), "items": items, "optional": bool(body.get("optional"))}}
                )
        if not any(kind in src for kind in ("secret", "configMap")):
            sources.append(dict(src))
    rest = {k: val for k, val in v.items() if k not in ("name", "projected")}
    return {"name": v.get("name"), "sources": sources, "other": rest}


def _volume_ops(spec: Mapping[str, Any], resolved: list[tuple[DeclaredName, str]]) -> list[Json]:
    desired = volume(resolved)
    volumes = spec.get("volumes")
    for v in volumes or []:
        if v.get("name") == VOLUME_NAME:
            if normalized_volume(v) == normalized_volume(desired):
                return []
            raise InjectionRefused(
                f"the pod already has a volume named {VOLUME_NAME} that Ironflow did not make"
            )
    if volumes is None:
        return [{"op": "add", "path": "/spec/volumes", "value": [desired]}]
    return [{"op": "add", "path": "/spec/volumes/-", "value": desired}]


def _record(
    declaration: Declaration,
    resolved: list[tuple[DeclaredName, str]],
    absent: list[str],
    containers: list[str],
    left: list[str],
) -> str:
    """What was injected, from where: names and resource names only, never values."""
    record: Json = {
        "projection": declaration.mode,
        "containers": containers,
        "secrets": {d.name: s for d, s in resolved if d.kind == "secret"},
        "configs": {d.name: s for d, s in resolved if d.kind == "config"},
    }
    if absent:
        record["absentOptional"] = absent
    if left:
        record["leftAsWritten"] = left
    return json.dumps(record, separators=(",", ":"), sort_keys=True)
