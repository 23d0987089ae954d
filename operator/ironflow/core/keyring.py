"""The master-key Secret's data -> Keyring.

Three outcomes, never confused: no key at all (an empty Keyring: development mode only when the
operator was started with --dev-mode, otherwise NoMasterKey); a usable key (plus older keys still
accepted for unsealing) is keyed mode; anything else is MalformedMasterKey, which callers must
treat as "unseal nothing, keep what is projected" and never as development mode, because a typo in
the key must not open the door to plaintext dev-form values.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ironflow.core.sealing_key import MASTER_KEY_BYTES, SealingKeyPair, derive_sealing_key
from ironflow.core.signer_chain import CHAIN_FIELD, BrokenChain, Link, check, extend, parse
from ironflow.core.signing import Signer, derive_signer

MASTER_KEY_SECRET = "ironflow-master-key"
MASTER_KEY_FIELD = "IRONFLOW_MASTER_KEY"
PREVIOUS_KEYS_FIELD = "IRONFLOW_PREVIOUS_KEYS"
MASTER_KEY_HEX_CHARS = 2 * MASTER_KEY_BYTES
SECRET_SOURCE = f"Secret {MASTER_KEY_SECRET}"
_HEX = frozenset(string.hexdigits)
_RAW_BYTES_HINT = "; it looks like raw key bytes: store the key hex-encoded"


class MalformedMasterKey(ValueError):
    """The Secret holds something that is not a usable key; the message never quotes it."""

    reason = "MalformedMasterKey"


@dataclass(frozen=True, repr=False)
class Keyring:
    dev_mode: bool
    current: SealingKeyPair | None
    all: tuple[SealingKeyPair, ...]
    # The signing identity of each key in `all`, same order: the current one signs what the
    # operator publishes (core/signing.py).
    signers: tuple[Signer, ...] = ()
    # Every signer endorsed by the one before, up to the current one (core/signer_chain.py): the
    # stored chain continued with the keys at hand. `chain_problem` says why a stored chain that
    # did not verify was dropped.
    chain: tuple[Link, ...] = ()
    chain_problem: str | None = None

    @classmethod
    def development(cls) -> Keyring:
        return cls(dev_mode=True, current=None, all=())

    @classmethod
    def from_master_keys(
        cls,
        current: bytes,
        previous: Iterable[bytes] = (),
        stored_chain: Sequence[Link] = (),
        chain_problem: str | None = None,
    ) -> Keyring:
        """Current key first, then older ones (newest first); a key listed twice counts once."""
        pairs: dict[str, tuple[SealingKeyPair, Signer]] = {}
        for key in (current, *previous):
            pair = derive_sealing_key(key)
            if pair.kid not in pairs:
                pairs[pair.kid] = (pair, derive_signer(key))
        ordered = tuple(pair for pair, _ in pairs.values())
        signers = tuple(signer for _, signer in pairs.values())
        return cls(
            dev_mode=False,
            current=ordered[0],
            all=ordered,
            signers=signers,
            chain=extend(stored_chain, signers),
            chain_problem=chain_problem,
        )

    @property
    def signer(self) -> Signer | None:
        return self.signers[0] if self.signers else None

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(pair.kid for pair in self.all)

    def find(self, kid: str) -> SealingKeyPair | None:
        for pair in self.all:
            if pair.kid == kid:
                return pair
        return None

    def __repr__(self) -> str:
        if self.dev_mode:
            return "Keyring(dev_mode=True)"
        return f"Keyring(dev_mode=False, kids={self.kids!r})"


def generate_master_key() -> str:
    """A fresh master key in the form the Secret expects (what `ironflow keygen` prints)."""
    return secrets.token_hex(MASTER_KEY_BYTES)


def _text(field: str, value: str | bytes, source: str = SECRET_SOURCE) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            hint = _RAW_BYTES_HINT if len(value) == MASTER_KEY_BYTES else ""
            raise MalformedMasterKey(
                f"{field} in {source} is not ASCII text; expected "
                f"{MASTER_KEY_HEX_CHARS} hex characters (openssl rand -hex 32){hint}"
            ) from None
    return value


def _length_hint(key: str) -> str:
    """Name the usual mistakes from the shape alone, never from the characters."""
    if len(key) == MASTER_KEY_BYTES:
        return _RAW_BYTES_HINT
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return ""
    if len(decoded.strip()) == MASTER_KEY_HEX_CHARS and _HEX.issuperset(decoded.strip().decode("latin-1")):
        return "; it looks base64-encoded one time too many (Secret data is base64 of the hex text)"
    return ""


def decode_master_key(where: str, text: str) -> bytes:
    """One key's hex text -> its 32 bytes; `where` names the place in the error, never the text."""
    key = text.strip()
    if len(key) != MASTER_KEY_HEX_CHARS:
        raise MalformedMasterKey(
            f"{where} is {len(key)} characters long; expected {MASTER_KEY_HEX_CHARS} hex characters "
            f"(openssl rand -hex 32){_length_hint(key)}"
        )
    if not _HEX.issuperset(key):
        raise MalformedMasterKey(
            f"{where} contains characters other than hex digits; expected {MASTER_KEY_HEX_CHARS} hex "
            "characters (openssl rand -hex 32)"
        )
    return bytes.fromhex(key)


def parse_keyring(data: Mapping[str, str | bytes] | None, source: str = SECRET_SOURCE) -> Keyring:
    """Values are the Secret's data already base64-decoded (str or bytes); other fields are ignored.

    `source` is what errors call the place the data came from: the Secret for the operator, a
    backup file for offline recovery, so that the user is sent to the thing to fix.
    """
    data = data or {}
    raw_current = data.get(MASTER_KEY_FIELD)
    raw_previous = data.get(PREVIOUS_KEYS_FIELD)
    current_text = _text(MASTER_KEY_FIELD, raw_current, source).strip() if raw_current is not None else ""
    previous_text = (
        _text(PREVIOUS_KEYS_FIELD, raw_previous, source).strip() if raw_previous is not None else ""
    )
    if not current_text:
        if previous_text:
            # Old keys without a current one is a half-done rotation, not a request for dev mode.
            raise MalformedMasterKey(
                f"{PREVIOUS_KEYS_FIELD} is set but {MASTER_KEY_FIELD} is empty in {source}; "
                "set the current key (development mode needs both empty or absent)"
            )
        return Keyring.development()
    current = decode_master_key(f"{MASTER_KEY_FIELD} in {source}", current_text)
    entries = [entry.strip() for entry in previous_text.split(",")] if previous_text else []
    entries = [entry for entry in entries if entry]
    previous = [
        decode_master_key(f"{PREVIOUS_KEYS_FIELD} entry {index} of {len(entries)} in {source}", entry)
        for index, entry in enumerate(entries, start=1)
    ]
    try:
        return Keyring.from_master_keys(current, previous, stored_chain(data, source))
    except BrokenChain as exc:
        return Keyring.from_master_keys(current, previous, (), f"{CHAIN_FIELD} in {source}: {exc}")


def stored_chain(data: Mapping[str, str | bytes], source: str = SECRET_SOURCE) -> tuple[Link, ...]:
    """The signer chain kept beside the keys, verified; raises BrokenChain."""
    raw = data.get(CHAIN_FIELD)
    if raw is None:
        return ()
    try:
        text = _text(CHAIN_FIELD, raw, source)
    except MalformedMasterKey:
        raise BrokenChain("it is not ASCII text") from None
    links = parse(text)
    check(links)
    return links


def key_texts(data: Mapping[str, str | bytes] | None) -> tuple[str, list[str]]:
    """The current key and the previous keys as normalised hex texts (for rotate and retire).

    Raises MalformedMasterKey like parse_keyring; ("", []) when there is no key at all.
    """
    keyring = parse_keyring(data)  # validates every entry first
    if keyring.dev_mode:
        return "", []
    data = data or {}
    current = _text(MASTER_KEY_FIELD, data[MASTER_KEY_FIELD]).strip().lower()
    raw_previous = data.get(PREVIOUS_KEYS_FIELD)
    previous_text = _text(PREVIOUS_KEYS_FIELD, raw_previous) if raw_previous is not None else ""
    previous = [entry.strip().lower() for entry in previous_text.split(",") if entry.strip()]
    return current, list(dict.fromkeys(previous))
