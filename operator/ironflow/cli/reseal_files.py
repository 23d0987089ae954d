"""Manifest files for `ironflow secret reseal -f`: find the sealed values, rewrite them in place.

Why text replacement and not a YAML round trip: the files live in Git, and re-dumping would
reorder keys, drop comments and reflow strings, so every reseal would be a diff of the whole
file. A sealed string is long and random, so replacing each old string by its new one touches
exactly those values; the result is parsed again and must hold exactly the new values, otherwise
the file is left as it was (for example when a dumper folded a value across lines).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ironflow.cli.errors import UserError
from ironflow.core.model import GROUP, SECRET_KIND, spec_of

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class SealedDocument:
    """One IronflowSecret of a file: where its values are bound (namespace) and the values."""

    index: int
    namespace: str
    name: str
    sealed: dict[str, str] = field(repr=False)


def manifest_files(paths: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        elif path.is_file():
            out.append(path)
        else:
            raise UserError(f"{raw}: no such file or directory")
    return list(dict.fromkeys(out))


def _documents(text: str, where: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise UserError(f"{where} is not valid YAML{line}") from None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _is_secret(doc: Any) -> bool:
    return (
        isinstance(doc, Mapping)
        and doc.get("kind") == SECRET_KIND
        and str(doc.get("apiVersion", "")).startswith(f"{GROUP}/")
    )


def sealed_documents(text: str, where: str, default_namespace: str | None) -> list[SealedDocument]:
    out: list[SealedDocument] = []
    for index, doc in enumerate(_documents(text, where)):
        if not _is_secret(doc):
            continue
        meta = _mapping(doc.get("metadata"))
        values = {k: v for k, v in spec_of(SECRET_KIND, doc).entries.items() if isinstance(v, str)}
        if not values:
            continue
        namespace = meta.get("namespace") or default_namespace
        if not isinstance(namespace, str) or not namespace:
            raise UserError(
                f"{where}: IronflowSecret {meta.get('name')} names no namespace: values are bound to "
                "one; pass --env NS"
            )
        out.append(SealedDocument(index, namespace, str(meta.get("name") or ""), values))
    return out


def rewritten(text: str, where: str, changes: Mapping[int, Mapping[str, str]]) -> str:
    """`text` with every changed value replaced; `changes` is document index -> NAME -> new value."""
    docs = _documents(text, where)
    new_text = text
    for index, names in changes.items():
        sealed = spec_of(SECRET_KIND, docs[index]).entries
        for name, new in names.items():
            new_text = new_text.replace(str(sealed[name]), new)
    check = _documents(new_text, where)
    for index, names in changes.items():
        rewritten_doc = check[index] if index < len(check) and _is_secret(check[index]) else None
        got = spec_of(SECRET_KIND, rewritten_doc).entries
        if any(got.get(name) != new for name, new in names.items()) or len(check) != len(docs):
            raise UserError(
                f"{where}: cannot rewrite the re-sealed values in place (is a value folded across "
                "lines?); the file is unchanged: write each sealed value on one line"
            )
    return new_text


def write_in_place(path: Path, text: str) -> None:
    """Replace the file atomically, keeping its mode: a crash leaves the old or the new file."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def iter_changes(
    docs: list[SealedDocument], answers: list[Mapping[str, str]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Per document, the names whose value the operator changed, with the new values."""
    for doc, answer in zip(docs, answers, strict=True):
        changed = {name: value for name, value in answer.items() if doc.sealed.get(name) not in (None, value)}
        if changed:
            yield doc.index, changed
