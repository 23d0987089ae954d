"""Reading one kubeconfig file or a KUBECONFIG list, merged the way kubectl merges it.

kubectl's rules (client-go's loader): the files are read in order; for each named cluster, user
and context the first file that defines the name wins, whole (entries are never merged field by
field); `current-context` comes from the first file that sets it; a relative path in an entry is
resolved against the directory of the file that defined that entry. The CLI reads the context's
namespace from the same merge, and the operator its cluster and user (k8s/kubeconfig.py), so
both see the file list exactly as kubectl does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}


class KubeconfigError(RuntimeError):
    """The named kubeconfig cannot be used; the message names the file or context, on one line."""


@dataclass(frozen=True)
class Entry:
    """One named cluster, user or context, and the directory its relative paths resolve against."""

    body: dict[str, Any]
    base: Path


@dataclass
class Merged:
    files: tuple[Path, ...]
    current_context: str | None = None
    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {s: {} for s in SECTIONS})

    @property
    def where(self) -> str:
        return "kubeconfig " + os.pathsep.join(str(f) for f in self.files)

    def named(self, section: str, name: str) -> Entry:
        entry = self.entries[section].get(name)
        if entry is None:
            raise KubeconfigError(f"{self.where}: no {SECTIONS[section]} named {name!r}")
        return entry


def _load(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"kubeconfig {path} cannot be read: {type(exc).__name__}") from None
    if document is None:  # an empty file contributes nothing, as in kubectl
        return {}
    if not isinstance(document, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig")
    return document


def merge(paths: Sequence[str | Path]) -> Merged:
    """The merged view of `paths` (every one must exist: choose_cluster dropped missing ones)."""
    files = tuple(Path(p) for p in paths)
    merged = Merged(files)
    for path in files:
        document = _load(path)
        current = document.get("current-context")
        if merged.current_context is None and isinstance(current, str) and current:
            merged.current_context = current
        for section, key in SECTIONS.items():
            items = document.get(section) or []
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    continue
                body = item.get(key)
                merged.entries[section].setdefault(
                    item["name"], Entry(dict(body) if isinstance(body, dict) else {}, path.parent))
    return merged
