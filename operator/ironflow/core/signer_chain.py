"""The signer chain: every operator signing key endorsed by the one before it, append-only.

Why: a CLI pins one signer id and must keep trusting the operator across rotations without being
taught to accept new signers blindly. An endorsement only a previous key could sign proves the
rotation, but the previous master key is retired soon after; so each endorsement is made while
both keys are present (`ironflow key rotate` makes it, the operator adds any link a hand rotation
left out), kept in the master-key Secret next to the keys, and published with every sealing key.
Verifying it needs only public keys, so it outlives the master keys that signed it: a CLI pinned
any number of rotations ago walks the chain from its pin to the current signer.

A link is the Ed25519 signature by the endorsing signer over a domain label and the canonical JSON
of (algorithm, purpose, endorser id, endorsed id, endorsed key). The chain is refused as a whole
when any link does not verify, when a link does not start where the one before it ended (reordered,
spliced or truncated in the middle), or when it does not end at the signer of the publication it
comes with: whoever can edit a ConfigMap can break the chain, never extend it.

Pure: no cluster access.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ironflow.core.signing import (
    SIGNATURE_BYTES,
    SIGNER_KEY_BYTES,
    InvalidSignerKey,
    Signer,
    b64,
    signer_id,
    unb64,
    verify,
)

CHAIN_FIELD: Final = "IRONFLOW_SIGNER_CHAIN"  # data key in the master-key Secret
LINK_LABEL: Final = b"ironflow/v1/signer-chain-link\n"
LINK_ALGORITHM: Final = "Ed25519"
LINK_PURPOSE: Final = "endorse-next-operator-signer"
MAX_LINKS: Final = 1000  # ~300 bytes each: far below the 1 MiB object limit, and quick to verify


class BrokenChain(ValueError):
    """The chain is malformed or does not verify: trust nothing it says."""


@dataclass(frozen=True)
class Link:
    """`endorser` (the previous signer's public key) vouches for `endorsed` (the next one)."""

    endorser: bytes
    endorsed: bytes
    signature: bytes


def link_message(endorser: bytes, endorsed: bytes) -> bytes:
    body = {
        "algorithm": LINK_ALGORITHM,
        "endorsed": signer_id(endorsed),
        "endorsedKey": b64(endorsed),
        "endorser": signer_id(endorser),
        "purpose": LINK_PURPOSE,
    }
    return LINK_LABEL + json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def make_link(endorser: Signer, endorsed: bytes) -> Link:
    message = link_message(endorser.public, endorsed)
    return Link(endorser.public, endorsed, endorser.private.sign(message))


def encode(links: Sequence[Link]) -> str:
    """JSON, oldest link first; the ids are there for people reading it and are checked on parse."""
    return json.dumps(
        [
            {
                "from": signer_id(link.endorser),
                "fromKey": b64(link.endorser),
                "to": signer_id(link.endorsed),
                "toKey": b64(link.endorsed),
                "signature": b64(link.signature),
            }
            for link in links
        ],
        separators=(",", ":"),
    )


def parse(text: str | None) -> tuple[Link, ...]:
    """The links in `text` (empty or absent: none), shape checked; `check` verifies them."""
    if text is None or not text.strip():
        return ()
    try:
        items = json.loads(text)
    except ValueError:
        raise BrokenChain("it is not valid JSON") from None
    if not isinstance(items, list):
        raise BrokenChain("it is not a JSON list")
    if len(items) > MAX_LINKS:
        raise BrokenChain(f"it has {len(items)} links, more than {MAX_LINKS}")
    return tuple(_link(index, item) for index, item in enumerate(items, start=1))


def _link(index: int, item: object) -> Link:
    if not isinstance(item, Mapping):
        raise BrokenChain(f"link {index} is not a mapping")
    try:
        link = Link(
            unb64(item.get("fromKey", ""), SIGNER_KEY_BYTES, "fromKey"),
            unb64(item.get("toKey", ""), SIGNER_KEY_BYTES, "toKey"),
            unb64(item.get("signature", ""), SIGNATURE_BYTES, "signature"),
        )
    except InvalidSignerKey as exc:
        raise BrokenChain(f"link {index}: {exc}") from None
    if item.get("from") != signer_id(link.endorser) or item.get("to") != signer_id(link.endorsed):
        raise BrokenChain(f"link {index}: its signer ids do not match its keys")
    return link


def check(links: Sequence[Link]) -> None:
    """Raise BrokenChain unless every link verifies and each starts where the previous one ended."""
    for index, link in enumerate(links, start=1):
        if index > 1 and link.endorser != links[index - 2].endorsed:
            raise BrokenChain(
                f"link {index} starts at {signer_id(link.endorser)}, not at "
                f"{signer_id(links[index - 2].endorsed)} where link {index - 1} ends"
            )
        if not verify(link.endorser, link.signature, link_message(link.endorser, link.endorsed)):
            raise BrokenChain(f"link {index} ({signer_id(link.endorser)} -> {signer_id(link.endorsed)}) "
                              "does not verify")


def extend(links: Sequence[Link], signers: Sequence[Signer]) -> tuple[Link, ...]:
    """`links` (already checked) continued to the current signer with the keys at hand.

    `signers` is a keyring's: current first, then previous keys newest first. The chain is
    continued from its last signer when that key is still held; with no chain yet, it starts at
    the oldest previous key. A chain whose last signer is not held any more cannot reach the
    current one (the key was replaced, not rotated): it starts again from the keys at hand.
    """
    if not signers:
        return tuple(links)
    current = signers[0]
    if links and links[-1].endorsed == current.public:
        return tuple(links)
    publics = [signer.public for signer in signers]
    if links and links[-1].endorsed in publics:
        start, kept = publics.index(links[-1].endorsed), list(links)
    else:
        start, kept = len(signers) - 1, []
    for index in range(start, 0, -1):
        kept.append(make_link(signers[index], signers[index - 1].public))
    return tuple(kept[-MAX_LINKS:])


def follow(text: str | None, trusted: str, current: bytes) -> tuple[str, ...]:
    """The signer ids from `trusted` to `current` along the published chain; () when the chain
    does not pass through `trusted`. Raises BrokenChain when the chain is damaged or forged, or
    does not end at `current` (the signer of the publication it came with)."""
    links = parse(text)
    if not links:
        return ()
    check(links)
    if links[-1].endorsed != current:
        raise BrokenChain(
            f"it ends at {signer_id(links[-1].endorsed)}, not at the publication's signer "
            f"{signer_id(current)}"
        )
    ids = [signer_id(links[0].endorser), *(signer_id(link.endorsed) for link in links)]
    if trusted not in ids:
        return ()
    return tuple(ids[len(ids) - 1 - ids[::-1].index(trusted):])
