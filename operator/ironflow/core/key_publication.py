"""What the operator publishes about its keys, signed, and how a reader checks it.

Two ConfigMaps (docs/crypto.md, "Trust"):

- `ironflow-sealing-key` in every environment: mode, and in keyed mode the public sealing key, its
  key id, the environment's namespace, the operator's signer key, a signature over
  (algorithm, key id, namespace, public key) and the signer chain (core/signer_chain.py) that
  leads from every earlier signer to this one. A tenant who can edit ConfigMaps can rewrite it,
  but cannot sign.
- `ironflow-signing-key` in the operator's namespace (the anchor): the signer key and id, the
  current key id and the same chain. Tenants cannot write there; the chart lets every
  authenticated user read it, so a CLI can pin the signer on first use from a trusted place.

Pure: no cluster access; the controller writes these, the CLI reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ironflow.core.keyring import Keyring
from ironflow.core.sealing_key import (
    ALGORITHM,
    CM_ALGORITHM,
    CM_KEY_ID,
    InvalidSealingKey,
    parse_sealing_key_configmap_data,
    sealing_key_configmap_data,
)
from ironflow.core.signer_chain import encode
from ironflow.core.signing import (
    SIGNATURE_BYTES,
    SIGNER_KEY_BYTES,
    InvalidSignerKey,
    b64,
    sign,
    signer_id,
    statement,
    unb64,
    verify,
)

SIGNING_KEY_CONFIGMAP: Final = "ironflow-signing-key"
CM_MODE: Final = "mode"
CM_NAMESPACE: Final = "namespace"
CM_SIGNER_KEY: Final = "signerKey"
CM_SIGNER_ID: Final = "signerId"
CM_SIGNATURE: Final = "signature"
CM_SIGNER_CHAIN: Final = "signerChain"


@dataclass(frozen=True)
class VerifiedKey:
    """A sealing key whose statement verified under `signer` for `namespace`; `signer` is not yet
    trusted: the caller decides that against its pin or anchor."""

    public: bytes
    kid: str
    namespace: str
    signer: bytes
    chain: str = ""  # the signer chain as published; checked only when the signer is not the trusted one

    @property
    def signer_id(self) -> str:
        return signer_id(self.signer)


def sealing_key_data(keyring: Keyring | None, mode: str, namespace: str) -> dict[str, str]:
    """The `ironflow-sealing-key` data for one environment; a key only in keyed mode, always signed."""
    data = {CM_ALGORITHM: ALGORITHM, CM_MODE: mode}
    if mode != "keyed" or keyring is None or keyring.current is None or keyring.signer is None:
        return data
    pair, signer = keyring.current, keyring.signer
    data.update(sealing_key_configmap_data(pair))
    data.update(
        {
            CM_NAMESPACE: namespace,
            CM_SIGNER_KEY: b64(signer.public),
            CM_SIGNER_ID: signer.id,
            CM_SIGNATURE: sign(signer, statement(namespace, pair.public, pair.kid, ALGORITHM)),
            CM_SIGNER_CHAIN: encode(keyring.chain),
        }
    )
    return data


def anchor_data(keyring: Keyring | None, mode: str) -> dict[str, str]:
    """The `ironflow-signing-key` data in the operator's namespace."""
    data = {CM_MODE: mode}
    if mode != "keyed" or keyring is None or keyring.current is None or keyring.signer is None:
        return data
    data.update(
        {
            CM_SIGNER_KEY: b64(keyring.signer.public),
            CM_SIGNER_ID: keyring.signer.id,
            CM_KEY_ID: keyring.current.kid,
            CM_SIGNER_CHAIN: encode(keyring.chain),
        }
    )
    return data


def parse_signer_key(text: str | None, where: str) -> bytes:
    if not text:
        raise InvalidSealingKey(f"{where} has no {CM_SIGNER_KEY}: it is not signed by the operator")
    try:
        return unb64(text, SIGNER_KEY_BYTES, CM_SIGNER_KEY)
    except InvalidSignerKey as exc:
        raise InvalidSealingKey(f"{where}: {exc}") from None


def verify_sealing_key(data: Mapping[str, str], namespace: str, where: str) -> VerifiedKey:
    """Check a keyed `ironflow-sealing-key` against its own signer, bound to `namespace`.

    Proves only that the holder of `signer` published this key for this namespace; whether that
    signer is the operator's is the caller's pin and the signer chain (`signer_chain.follow`).
    """
    public, kid = parse_sealing_key_configmap_data(data)
    signer = parse_signer_key(data.get(CM_SIGNER_KEY), where)
    try:
        signature = unb64(data.get(CM_SIGNATURE, ""), SIGNATURE_BYTES, CM_SIGNATURE)
    except InvalidSignerKey as exc:
        raise InvalidSealingKey(f"{where}: {exc}") from None
    if not verify(signer, signature, statement(namespace, public, kid, ALGORITHM)):
        raise InvalidSealingKey(
            f"{where}: its signature does not verify for environment {namespace} (altered, or copied "
            "from another namespace)"
        )
    return VerifiedKey(public, kid, namespace, signer, str(data.get(CM_SIGNER_CHAIN) or ""))
