"""Enforced environments: a pod reaches an operator-managed Secret only through its declaration.

Without enforcement, anyone who may create pods in a namespace can mount the whole projected
Secret by name and read every value, declared or not. With the namespace label set, the webhook
refuses any reference to a managed Secret (a Secret named like an IronflowSecret of the
environment) that is not exactly an entry the injection itself makes for a declared name.

Waiting must not get around that: a pod admitted with a reference to a Secret that does not exist
yet (optional, or required and left pending by the kubelet) would read the whole Secret once an
IronflowSecret of that name is created and projected. So in an enforced environment every other
Secret a pod refers to must exist when the pod is admitted (`view.missing_secrets` lists those
that do not); a name that no Secret holds yet is refused like a managed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ironflow.core.declarations import Declaration, DeclaredName
from ironflow.core.environment_view import EnvironmentView
from ironflow.core.injection import VOLUME_NAME, env_entry, normalized_volume, volume

ENFORCE_LABEL: Final = "ironflow.io/enforce"


def forbidden_references(
    pod: Mapping[str, Any], declaration: Declaration | None, view: EnvironmentView
) -> list[str]:
    """Each reference to a managed Secret the declaration does not account for, described for a message."""
    managed = view.resources.get("secret", frozenset())
    if not managed and not view.missing_secrets:
        return []
    resolved = _resolved(declaration, view)
    allowed_env = [env_entry(d, s) for d, s in resolved if d.kind == "secret"]
    spec = pod.get("spec") or {}
    found: list[str] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            cname = c.get("name")
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
                if ref.get("name") in managed and e not in allowed_env:
                    found.append(f"container {cname} env {e.get('name')} (Secret {ref.get('name')})")
                elif ref.get("name") in view.missing_secrets:
                    found.append(f"container {cname} env {e.get('name')} ({_missing(ref.get('name'))})")
            for src in c.get("envFrom") or []:
                name = (src.get("secretRef") or {}).get("name")
                if name in managed:
                    found.append(f"container {cname} envFrom (Secret {name})")
                elif name in view.missing_secrets:
                    found.append(f"container {cname} envFrom ({_missing(name)})")
    ours = normalized_volume(volume(resolved)) if resolved else None
    for v in spec.get("volumes") or []:
        if v.get("name") == VOLUME_NAME and normalized_volume(v) == ours:
            continue
        for name in _volume_secrets(v):
            if name in managed:
                found.append(f"volume {v.get('name')} (Secret {name})")
            elif name in view.missing_secrets:
                found.append(f"volume {v.get('name')} ({_missing(name)})")
    return found


def referenced_secrets(pod: Mapping[str, Any]) -> set[str]:
    """Every Secret name the pod's containers and volumes refer to (image pull secrets excepted)."""
    spec = pod.get("spec") or {}
    names: set[str] = set()
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            for e in c.get("env") or []:
                names.add(str(((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") or ""))
            for src in c.get("envFrom") or []:
                names.add(str((src.get("secretRef") or {}).get("name") or ""))
    for v in spec.get("volumes") or []:
        names.update(_volume_secrets(v))
    names.discard("")
    names.discard("None")
    return names


def _missing(name: object) -> str:
    return f"Secret {name}, which does not exist yet"


def _resolved(declaration: Declaration | None, view: EnvironmentView) -> list[tuple[DeclaredName, str]]:
    if declaration is None:
        return []
    out: list[tuple[DeclaredName, str]] = []
    for d in declaration.names:
        source = view.source(d.kind, d.name)
        if source is not None:
            out.append((d, source))
    return out


def _volume_secrets(v: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    if "secret" in v:
        names.append(str((v.get("secret") or {}).get("secretName")))
    for src in ((v.get("projected") or {}).get("sources")) or []:
        if "secret" in src:
            names.append(str((src.get("secret") or {}).get("name")))
    return names
