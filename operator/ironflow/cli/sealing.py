"""Which key to seal for: the environment's published, signed ConfigMap, or a file for offline sealing.

The operator publishes `ironflow-sealing-key` in every environment it serves, with a `mode`:
keyed (a public key signed by the operator for this namespace), dev (an operator started with
--dev-mode and no master key), no-key (no master key and no --dev-mode: NoMasterKey) or
invalid-key (a malformed master key). A tenant who can edit ConfigMaps can rewrite it, so:

- online, a keyed key is used only once its signature verifies for this namespace and its signer
  is the one this user trusts (cli/trust.py); anything else is refused;
- plaintext (the dev form) is written only when the user passes --dev, never because a ConfigMap
  says "dev": the ConfigMap only decides whether --dev is refused (a keyed environment refuses it);
- no-key and invalid-key refuse to seal: nobody could unseal the result.

`--public-key FILE` accepts what `ironflow secret public-key` prints (a bare base64 line, or the
JSON/YAML mapping, signed), or the ConfigMap itself as `kubectl get configmap -o yaml` writes it.
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
from ironflow.core.key_publication import CM_MODE, CM_SIGNATURE, VerifiedKey, verify_sealing_key
from ironflow.core.sealing_key import CM_ALGORITHM, CM_KEY_ID, CM_PUBLIC_KEY, SEALING_KEY_CONFIGMAP

Mode = Literal["keyed", "dev"]
DEV_FLAG_HINT: Final = "pass --dev to store it in plaintext on purpose"


@dataclass(frozen=True)
class SealingKey:
    mode: Mode
    public: bytes | None
    kid: str | None
    source: str
    verified: VerifiedKey | None = None
    published: Mapping[str, str] | None = None

    def export(self) -> dict[str, str]:
        """What `secret public-key` prints: the signed publication when there is one."""
        if self.mode == "dev" or self.public is None or self.kid is None:
            return {CM_MODE: "dev"}
        if self.published is not None:
            return dict(self.published)
        return {
            CM_PUBLIC_KEY: base64.b64encode(self.public).decode("ascii"),
            CM_KEY_ID: self.kid,
            CM_ALGORITHM: ALGORITHM,
            CM_MODE: "keyed",
        }


def no_key_published(namespace: str, hint: str = "") -> UserError:
    return UserError(
        f"no sealing key published in environment {namespace} yet: is the operator running and serving "
        f"this namespace? (or pass --public-key FILE){hint}"
    )


def _mode(data: Mapping[str, str], source: str) -> str:
    mode = data.get(CM_MODE) or ("keyed" if data.get(CM_PUBLIC_KEY) else "")
    if mode == "no-key":
        raise UserError(
            f"{source} says the operator has no master key (NoMasterKey): nothing it could unseal can be "
            "sealed now; restore the ironflow-master-key Secret"
        )
    if mode == "invalid-key":
        raise UserError(
            f"{source} says the operator's master key is malformed (mode invalid-key): it unseals nothing, "
            "so nothing can be sealed for it; fix the ironflow-master-key Secret first"
        )
    if mode not in ("keyed", "dev"):
        shown = repr(mode) if mode else "none"
        raise UserError(f"{source} announces mode {shown}; this CLI knows keyed, dev, no-key and invalid-key")
    return mode


def _strings(data: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (data or {}).items()}


def from_data(data: Mapping[str, Any] | None, source: str, namespace: str | None = None) -> SealingKey:
    """A keyed publication read from a file: its signature is checked when it carries one and the
    environment is known, but its signer is not (offline: nothing to compare it with)."""
    values = _strings(data)
    if _mode(values, source) == "dev":
        raise UserError(f"{source} says development mode: there is no key to seal for; {DEV_FLAG_HINT}")
    if namespace is not None and values.get(CM_SIGNATURE):
        try:
            verified = verify_sealing_key(values, namespace, source)
        except InvalidSealingKey as exc:
            raise UserError(str(exc)) from None
        return SealingKey("keyed", verified.public, verified.kid, source, verified, values)
    try:
        public, kid = parse_sealing_key_configmap_data(values)
    except InvalidSealingKey as exc:
        raise UserError(f"{source}: {exc}") from None
    return SealingKey("keyed", public, kid, source)


def from_configmap(configmap: Mapping[str, Any] | None, namespace: str, *, dev: bool = False) -> SealingKey:
    """The environment's key, signature checked (trust in the signer is the caller's next step).

    With `dev`, only a ConfigMap in dev mode lets the dev form through: a keyed environment would
    refuse the value, so the user learns it here rather than by a plaintext left in the resource.
    """
    if configmap is None:
        raise no_key_published(namespace)
    source = f"ConfigMap {SEALING_KEY_CONFIGMAP} in {namespace}"
    raw = configmap.get("data")
    values = _strings(raw if isinstance(raw, Mapping) else {})
    mode = _mode(values, source)
    if dev:
        if mode != "dev":
            raise UserError(
                f"environment {namespace} has a master key: dev-form (plaintext) values are refused "
                "there; drop --dev and the value is sealed"
            )
        return SealingKey("dev", None, None, source)
    if mode == "dev":
        raise UserError(f"{source} says development mode (the operator has no master key); {DEV_FLAG_HINT}")
    try:
        verified = verify_sealing_key(values, namespace, source)
    except InvalidSealingKey as exc:
        raise UserError(f"cannot authenticate the sealing key: {exc}") from None
    return SealingKey("keyed", verified.public, verified.kid, source, verified, values)


def from_file(path: str, namespace: str | None = None) -> SealingKey:
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
        return from_data(data, source, namespace)
    try:
        public = parse_public_key(text)
    except InvalidSealingKey as exc:
        raise UserError(
            f"{source} holds neither a base64 public key nor the {SEALING_KEY_CONFIGMAP} ConfigMap ({exc})"
        ) from None
    return SealingKey("keyed", public, key_id(public), source)


def dev_for(namespace: str, name: str, plaintext: bytes) -> str:
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


def seal_for(key: SealingKey, namespace: str, name: str, plaintext: bytes) -> str:
    if key.mode == "dev":
        return dev_for(namespace, name, plaintext)
    assert key.public is not None
    return seal(key.public, namespace, name, plaintext)


DEV_WARNING: Final = (
    "the operator in environment {env} has no master key (development mode): the value is stored in "
    "plaintext in IronflowSecret {resource}, readable by anyone who can read that resource"
)
