"""Which key to seal for: the environment's published ConfigMap, or a file for offline sealing.

The operator publishes `ironflow-sealing-key` in every environment it serves, with a `mode`:
keyed (seal with publicKey), dev (the operator has no master key: values are written in the
documented plaintext dev form) or invalid-key (the master key is malformed and the operator
unseals nothing, so sealing now would only produce values nobody can read).
`--public-key FILE` accepts what `ironflow secret public-key` prints (a bare base64 line, or the
JSON/YAML mapping), or the ConfigMap itself as `kubectl get configmap -o yaml` writes it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from ironflow.cli.errors import UserError
from ironflow.core.crypto import (
    ALGORITHM,
    MAX_PLAINTEXT_BYTES,
    InvalidSealingKey,
    dev_value,
    key_id,
    parse_public_key,
    parse_sealing_key_configmap_data,
    seal,
)
from ironflow.core.sealing_key import CM_ALGORITHM, CM_KEY_ID, CM_PUBLIC_KEY, SEALING_KEY_CONFIGMAP

CM_MODE: Final = "mode"
Mode = Literal["keyed", "dev"]


@dataclass(frozen=True)
class SealingKey:
    mode: Mode
    public: bytes | None
    kid: str | None
    source: str

    def export(self) -> dict[str, str]:
        if self.mode == "dev" or self.public is None or self.kid is None:
            return {CM_MODE: "dev"}
        return {
            CM_PUBLIC_KEY: base64.b64encode(self.public).decode("ascii"),
            CM_KEY_ID: self.kid,
            CM_ALGORITHM: ALGORITHM,
            CM_MODE: "keyed",
        }


def no_key_published(namespace: str) -> UserError:
    return UserError(
        f"no sealing key published in environment {namespace} yet: is the operator running and serving "
        "this namespace? (or pass --public-key FILE)"
    )


def from_data(data: Mapping[str, Any] | None, source: str) -> SealingKey:
    data = {str(k): str(v) for k, v in (data or {}).items()}
    mode = data.get(CM_MODE) or ("keyed" if data.get(CM_PUBLIC_KEY) else "")
    if mode == "dev":
        return SealingKey("dev", None, None, source)
    if mode == "invalid-key":
        raise UserError(
            f"{source} says the operator's master key is malformed (mode invalid-key): it unseals nothing, "
            "so nothing can be sealed for it; fix the ironflow-master-key Secret first"
        )
    if mode != "keyed":
        shown = repr(mode) if mode else "none"
        raise UserError(f"{source} announces mode {shown}; this CLI knows keyed, dev and invalid-key")
    try:
        public, kid = parse_sealing_key_configmap_data(data)
    except InvalidSealingKey as exc:
        raise UserError(f"{source}: {exc}") from None
    return SealingKey("keyed", public, kid, source)


def from_configmap(configmap: Mapping[str, Any] | None, namespace: str) -> SealingKey:
    if configmap is None:
        raise no_key_published(namespace)
    data = configmap.get("data")
    return from_data(
        data if isinstance(data, Mapping) else {}, f"ConfigMap {SEALING_KEY_CONFIGMAP} in {namespace}"
    )


def from_file(path: str) -> SealingKey:
    source = f"public key file {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, Mapping):
        data = doc.get("data") if isinstance(doc.get("data"), Mapping) else doc
        return from_data(data, source)
    try:
        public = parse_public_key(text)
    except InvalidSealingKey as exc:
        raise UserError(
            f"{source} holds neither a base64 public key nor the {SEALING_KEY_CONFIGMAP} ConfigMap ({exc})"
        ) from None
    return SealingKey("keyed", public, key_id(public), source)


def seal_for(key: SealingKey, namespace: str, name: str, plaintext: bytes) -> str:
    if key.mode == "dev":
        if len(plaintext) > MAX_PLAINTEXT_BYTES:  # the same limit as sealed values: the operator enforces it
            raise UserError(
                f"value for {name} is {len(plaintext)} bytes; at most {MAX_PLAINTEXT_BYTES} are accepted"
            )
        try:
            return dev_value(plaintext)
        except ValueError:
            raise UserError(
                "in development mode values are stored as text, and this value is not UTF-8; "
                "give the operator a master key to store binary values"
            ) from None
    assert key.public is not None
    return seal(key.public, namespace, name, plaintext)


DEV_WARNING: Final = (
    "the operator in environment {env} has no master key (development mode): the value is stored in "
    "plaintext in IronflowSecret {resource}, readable by anyone who can read that resource"
)
