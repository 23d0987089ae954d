"""Read a master key from a file, offline: what `ironflow key backup` writes, or the bare key.

Recovery happens on the worst day, from whatever was kept: the Secret manifest `key backup`
writes (base64 `data`, or a hand-written `stringData`), or just the 64 hex characters. Both are
read, every key in them is used (values sealed for a previous key unseal too), and every error
names the file and the field, never a Secret that no longer exists, and never quotes the file:
a YAML error's usual text shows the offending line, which here is a key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import yaml

from ironflow.cli.errors import UserError
from ironflow.core.keyring import (
    MASTER_KEY_FIELD,
    MASTER_KEY_HEX_CHARS,
    Keyring,
    MalformedMasterKey,
    decode_master_key,
    parse_keyring,
)

# The one declaration of the option, for every command that reads such a file.
MASTER_KEY_FILE_OPTION = click.option(
    "--master-key-file",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="the file `ironflow key backup -f` wrote, or the bare master key (64 hex characters).",
)

_EXPECTED = f"`ironflow key backup` output or the bare key ({MASTER_KEY_HEX_CHARS} hex characters)"


def read_master_key_file(path: str) -> Keyring:
    """The keyring in `path`; UserError naming `path` for anything else."""
    where = f"master key file {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise UserError(f"cannot read {where}: {reason}") from None
    stripped = text.strip()
    if not stripped:
        raise UserError(f"{where} is empty; expected {_EXPECTED}")
    document, line = _yaml(text)
    try:
        if isinstance(document, Mapping):
            return _from_manifest(document, where)
        if "\n" in stripped:
            detail = f" (YAML error at line {line})" if line else ""
            raise UserError(
                f"{where} is neither a Secret manifest nor a bare key{detail}; expected {_EXPECTED}"
            )
        return Keyring.from_master_keys(decode_master_key(where, stripped))
    except MalformedMasterKey as exc:
        raise UserError(str(exc)) from None


def _yaml(text: str) -> tuple[Any, int | None]:
    """(the single YAML document, None) or (None, line of the error): the error's text is dropped."""
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return None, (mark.line + 1) if mark is not None else None
    except yaml.YAMLError:
        return None, None
    secrets = [doc for doc in docs if isinstance(doc, Mapping) and doc.get("kind") == "Secret"]
    if len(docs) == 1:
        return docs[0], None
    return (secrets[0] if len(secrets) == 1 else None), None


def _from_manifest(doc: Mapping[str, Any], where: str) -> Keyring:
    kind = doc.get("kind")
    if kind not in (None, "Secret"):
        raise UserError(f"{where} holds a {kind}, not a Secret; expected {_EXPECTED}")
    fields: dict[str, str | bytes] = {}
    data = doc.get("data") or {}
    string_data = doc.get("stringData") or {}
    if not isinstance(data, Mapping) or not isinstance(string_data, Mapping):
        raise UserError(f"{where}: data and stringData must be mappings; expected {_EXPECTED}")
    for field, value in data.items():
        try:
            fields[str(field)] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise UserError(f"{where}: data field {field} is not valid base64") from None
    fields.update({str(field): str(value) for field, value in string_data.items()})
    if MASTER_KEY_FIELD not in fields:
        raise UserError(f"{where} is a manifest without {MASTER_KEY_FIELD} in data or stringData")
    keyring = parse_keyring(fields, source=where)
    if keyring.dev_mode:
        raise UserError(f"{where}: {MASTER_KEY_FIELD} is empty")
    return keyring
