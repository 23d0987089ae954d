"""Manifests in and out: Secret manifests or dotenv -> IronflowSecret manifests, and back to YAML/JSON.

What a team moving from Sealed Secrets has in hand is a `kubectl create secret ... -o yaml`
manifest or an `.env` file; `ironflow secret seal -f` turns either into an IronflowSecret of the
same name, namespace, type and labels. The input holds plaintext, so nothing here may quote it:
YAML errors are reported by line and column only (PyYAML's own message would print the line),
base64 errors by key, and `kubectl.kubernetes.io/last-applied-configuration`, which repeats the
whole Secret in plaintext, is never carried over.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from ironflow.cli.errors import UserError
from ironflow.core.dotenv import DotenvError, parse_dotenv
from ironflow.core.model import (
    API_VERSION,
    DEFAULT_SECRET_TYPE,
    MANAGED_BY_LABEL,
    SECRET_KIND,
    editable_spec,
    spec_names,
)
from ironflow.core.names import InvalidName, validate_name

LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
DOTENV_SUFFIXES: Final = (".env",)


@dataclass
class PlainSecret:
    """One Secret to seal: plaintext only in memory, between reading and sealing."""

    name: str
    namespace: str | None
    type: str = DEFAULT_SECRET_TYPE
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    values: dict[str, bytes] = field(default_factory=dict, repr=False)


def load_documents(text: str, source: str) -> list[Any]:
    """Every YAML (or JSON) document of `text`; an error names the position, never the content."""
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"{source} is not valid YAML{where}") from None
    except yaml.YAMLError:
        raise UserError(f"{source} is not valid YAML") from None


def _items(docs: list[Any]) -> Iterator[Any]:
    for doc in docs:
        if isinstance(doc, Mapping) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            yield from doc["items"]
        else:
            yield doc


def _string_map(raw: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _plain_from_secret(doc: Mapping[str, Any], source: str) -> PlainSecret:
    raw_meta = doc.get("metadata")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{source}: a Secret without metadata.name")
    namespace = meta.get("namespace")
    annotations = {k: v for k, v in _string_map(meta.get("annotations")).items() if k != LAST_APPLIED}
    secret = PlainSecret(
        name=name,
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        type=str(doc.get("type") or DEFAULT_SECRET_TYPE),
        labels={k: v for k, v in _string_map(meta.get("labels")).items() if k != MANAGED_BY_LABEL},
        annotations=annotations,
    )
    data = doc.get("data") or {}
    string_data = doc.get("stringData") or {}
    if not isinstance(data, Mapping) or not isinstance(string_data, Mapping):
        raise UserError(f"{source}: Secret {name}: data and stringData must be maps")
    for key, value in data.items():
        _check_key(key, source, name)
        try:
            secret.values[key] = base64.b64decode(str(value or ""), validate=True)
        except (binascii.Error, ValueError):
            raise UserError(f"{source}: Secret {name}: data[{key}] is not base64") from None
    for key, value in string_data.items():  # stringData wins, as in the API server
        _check_key(key, source, name)
        secret.values[key] = str(value if value is not None else "").encode("utf-8")
    return secret


def _check_key(key: object, source: str, name: str) -> None:
    try:
        validate_name(key)
    except InvalidName as exc:
        raise UserError(f"{source}: Secret {name}: {exc}") from None


def read_plain_secrets(text: str, source: str, default_name: str | None) -> list[PlainSecret]:
    """Secret manifests (YAML/JSON, several documents or a List) or, for *.env, a dotenv file."""
    if source.endswith(DOTENV_SUFFIXES) or _looks_like_dotenv(text):
        try:
            values = parse_dotenv(text)
        except DotenvError as exc:
            raise UserError(f"{source}: {exc}") from None
        return [PlainSecret(default_name or "app", None, values={k: v.encode() for k, v in values.items()})]
    found: list[PlainSecret] = []
    for doc in _items(load_documents(text, source)):
        if not isinstance(doc, Mapping) or doc.get("kind") != "Secret":
            kind = doc.get("kind") if isinstance(doc, Mapping) else type(doc).__name__
            raise UserError(f"{source}: expected Secret manifests (or a dotenv file), found {kind}")
        secret = _plain_from_secret(doc, source)
        if default_name:
            secret.name = default_name
        found.append(secret)
    if not found:
        raise UserError(f"{source} holds no Secret")
    return found


def _looks_like_dotenv(text: str) -> bool:
    """A file whose first meaningful line is NAME=... and not YAML-ish (`kind:`, `{`)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        head = stripped.removeprefix("export ").split("=", 1)[0]
        return "=" in stripped and ":" not in head and not stripped.startswith(("{", "-", "apiVersion"))
    return False


def ironflow_secret(secret: PlainSecret, namespace: str, sealed: Mapping[str, str]) -> dict[str, Any]:
    """The IronflowSecret manifest: same name, namespace, type and labels as the Secret."""
    meta: dict[str, Any] = {"name": secret.name, "namespace": namespace}
    if secret.labels:
        meta["labels"] = dict(secret.labels)
    spec: dict[str, Any] = {"sealed": dict(sealed)}
    template: dict[str, Any] = {}
    if secret.type != DEFAULT_SECRET_TYPE:
        template["type"] = secret.type
    template_meta = {k: v for k, v in (("labels", secret.labels), ("annotations", secret.annotations)) if v}
    if template_meta:
        template["metadata"] = {k: dict(v) for k, v in template_meta.items()}
    if template:
        spec["template"] = template
    return {"apiVersion": API_VERSION, "kind": SECRET_KIND, "metadata": meta, "spec": spec}


def _same(doc: Any, new: Mapping[str, Any]) -> bool:
    if not isinstance(doc, Mapping) or doc.get("kind") != SECRET_KIND:
        return False
    meta, new_meta = doc.get("metadata") or {}, new["metadata"]
    same_namespace = meta.get("namespace") in (None, new_meta["namespace"])
    return bool(meta.get("name") == new_meta["name"] and same_namespace)


def merge_into(existing: list[Any], new_docs: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
    """Add or replace names in the IronflowSecret of the same name (and namespace); append the rest.
    Names the new manifest does not mention are kept: a merge never drops a sealed value."""
    merged = list(existing)
    report: list[str] = []
    for new in new_docs:
        target = next((d for d in merged if _same(d, new)), None)
        if target is None:
            merged.append(new)
            report.extend(f"{new['metadata']['name']}: + {n}" for n in spec_names(SECRET_KIND, new))
            continue
        try:
            spec = editable_spec(SECRET_KIND, target)
        except ValueError as exc:  # an InvalidSpec in the file: refuse, nothing written
            raise UserError(f"IronflowSecret {new['metadata']['name']}: {exc}") from None
        sealed, new_spec = spec["sealed"], editable_spec(SECRET_KIND, new)
        for name, value in new_spec["sealed"].items():
            report.append(f"{new['metadata']['name']}: {'~' if name in sealed else '+'} {name}")
            sealed[name] = value
        if "template" in new_spec:
            spec["template"] = new_spec["template"]
    return merged, report


def dump(docs: list[Any], output: str) -> str:
    if output == "json":
        body = docs[0] if len(docs) == 1 else {"apiVersion": "v1", "kind": "List", "items": docs}
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=1_000_000)


def read_source(path: str, stdin_text: str | None = None) -> tuple[str, str]:
    """(text, source name): `-` is stdin."""
    if path == "-":
        return stdin_text or "", "stdin"
    try:
        return Path(path).read_text(encoding="utf-8"), path
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
