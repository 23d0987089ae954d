"""Rotate and retire master keys as edits of the master-key Secret's data (pure).

Why here and not in the CLI: the rules are the safety of the whole product. A rotation keeps the
current key as the first previous key (nothing sealed for it stops unsealing) and records, while
both keys are at hand, the old signer's endorsement of the new one in the signer chain kept in the
Secret (docs/crypto.md section 11): it is what lets every CLI pinned to an older signer follow,
long after the old key is retired. A retirement removes exactly one previous key and never the
current one, and first records any link only that key could still sign (after a rotation by hand).
The caller writes the result with the Secret's resourceVersion, so a concurrent edit fails
instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ironflow.core.keyring import MASTER_KEY_FIELD, PREVIOUS_KEYS_FIELD, Keyring, key_texts, stored_chain
from ironflow.core.sealing_key import derive_sealing_key
from ironflow.core.signer_chain import CHAIN_FIELD, BrokenChain, Link, encode
from ironflow.core.signing import derive_signer


class KeyChangeRefused(ValueError):
    """The requested change would lose a key or has nothing to act on; the message says why."""


@dataclass(frozen=True)
class KeyChange:
    data: dict[str, str] = field(repr=False)  # the Secret's new stringData: holds keys, never shown
    old_kid: str
    new_kid: str
    signer_id: str
    previous_kids: tuple[str, ...]


def _kid(hex_key: str) -> str:
    return derive_sealing_key(bytes.fromhex(hex_key)).kid


def _chain(data: Mapping[str, str | bytes] | None) -> tuple[Link, ...]:
    try:
        return stored_chain(data or {})
    except BrokenChain as exc:
        raise KeyChangeRefused(
            f"{CHAIN_FIELD} in the master-key Secret is damaged ({exc}); nothing was changed. Restore it "
            f"from a backup, or delete that field to start a new chain (every CLI then pins again)"
        ) from None


def _keyring(current: str, previous: list[str], chain: tuple[Link, ...]) -> Keyring:
    return Keyring.from_master_keys(bytes.fromhex(current), [bytes.fromhex(key) for key in previous], chain)


def _change(current: str, previous: list[str], old_kid: str, chain: tuple[Link, ...]) -> KeyChange:
    data = {MASTER_KEY_FIELD: current, PREVIOUS_KEYS_FIELD: ",".join(previous), CHAIN_FIELD: encode(chain)}
    return KeyChange(
        data,
        old_kid,
        _kid(current),
        derive_signer(bytes.fromhex(current)).id,
        tuple(_kid(key) for key in previous),
    )


def rotate(data: Mapping[str, str | bytes] | None, new_key: str) -> KeyChange:
    current, previous = key_texts(data)
    if not current:
        raise KeyChangeRefused(
            "there is no master key to rotate: create one (ironflow keygen, docs/install.md)"
        )
    new = new_key.strip().lower()
    if new == current or new in previous:
        raise KeyChangeRefused("the new key is already in use")
    kept = [current, *(key for key in previous if key != current)]
    return _change(new, kept, _kid(current), _keyring(new, kept, _chain(data)).chain)


def retire(data: Mapping[str, str | bytes] | None, kid: str) -> KeyChange:
    current, previous = key_texts(data)
    if not current:
        raise KeyChangeRefused("there is no master key")
    if _kid(current) == kid:
        raise KeyChangeRefused(f"key id {kid} is the current key: rotate first (ironflow key rotate)")
    kept = [key for key in previous if _kid(key) != kid]
    if len(kept) == len(previous):
        known = ", ".join(_kid(key) for key in previous) or "none"
        raise KeyChangeRefused(f"key id {kid} is not among the previous keys ({known})")
    # the chain as far as the keys before retirement can take it: the retired key's link stays
    return _change(current, kept, _kid(current), _keyring(current, previous, _chain(data)).chain)
