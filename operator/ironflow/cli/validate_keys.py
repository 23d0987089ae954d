"""Which key each environment's manifests are checked against, offline: `validate --public-key`.

Overlays of one repository are sealed for different environments, each with its own key (the
operator signs a key for one namespace). So `--public-key` is repeatable and takes directories,
and each key applies to the environment it names: the signed form (`secret public-key -o yaml`,
or the ConfigMap itself) carries its namespace and its signature is checked for it. A bare key
names none; a single one applies to every environment no named key covers, as before. An
environment no key applies to is not checked (reported as such), not failed: its key was not given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import yaml

from ironflow.cli import sealing
from ironflow.cli.errors import UserError
from ironflow.core.key_publication import CM_NAMESPACE

KEY_SUFFIXES: Final = (".yaml", ".yml", ".json", ".pem", ".pub", ".key", ".txt")


def key_files(paths: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in KEY_SUFFIXES)
            if not found:
                suffixes = ", ".join(KEY_SUFFIXES)
                raise UserError(f"--public-key {path}: the directory holds no key file ({suffixes})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"--public-key {path}: no such file or directory")
    return files


def named_environment(path: Path) -> str | None:
    """The namespace a key file is published for: its `namespace` field (signed), else the
    ConfigMap's metadata.namespace; None for a bare key."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # from_file reports what is wrong with it
    if not isinstance(doc, Mapping):
        return None
    data, meta = doc.get("data"), doc.get("metadata")
    data = data if isinstance(data, Mapping) else doc
    meta = meta if isinstance(meta, Mapping) else {}
    namespace = data.get(CM_NAMESPACE) or meta.get("namespace")
    return str(namespace) if namespace else None


class OfflineKeys:
    """The keys given with --public-key, by the environment each names."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.named: dict[str, sealing.SealingKey] = {}
        unnamed: list[sealing.SealingKey] = []
        for path in key_files(paths):
            namespace = named_environment(path)
            key = sealing.from_file(str(path), namespace)  # a signed key is checked for its namespace
            if namespace is None:
                unnamed.append(key)
                continue
            other = self.named.get(namespace)
            if other is not None and other.kid != key.kid:
                raise UserError(
                    f"two keys for environment {namespace}: {other.source} (key id {other.kid}) and "
                    f"{key.source} (key id {key.kid}); give the one it publishes now"
                )
            self.named[namespace] = key
        if len(unnamed) > 1:
            raise UserError(
                f"{len(unnamed)} keys name no environment ({', '.join(k.source for k in unnamed)}): "
                "with several keys, give each in the signed form that names its environment "
                "(ironflow secret public-key -n NS -o yaml > NS-key.yaml)"
            )
        self.fallback = unnamed[0] if unnamed else None

    def get(self, namespace: str) -> sealing.SealingKey | str:
        """The key for the environment, or why it is not checked."""
        key = self.named.get(namespace) or self.fallback
        if key is not None:
            return key
        given = ", ".join(sorted(self.named))
        return f"no key given for environment {namespace}; keys given for: {given}"
