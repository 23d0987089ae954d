"""The signer chain: rotations followed from any older pin, after the old keys are retired; a
forged, reordered, spliced or truncated chain refused as a whole."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest

from ironflow.core.key_lifecycle import KeyChangeRefused, retire, rotate
from ironflow.core.key_publication import sealing_key_data, verify_sealing_key
from ironflow.core.keyring import Keyring, parse_keyring
from ironflow.core.sealing_key import derive_sealing_key
from ironflow.core.signer_chain import (
    MAX_LINKS,
    BrokenChain,
    Link,
    check,
    encode,
    extend,
    follow,
    link_message,
    make_link,
    parse,
)
from ironflow.core.signing import derive_signer, sign, statement

A, B, C, D, X = ("aa" * 32, "bb" * 32, "cc" * 32, "dd" * 32, "ee" * 32)  # X: the attacker's


def sid(key: str) -> str:
    return derive_signer(bytes.fromhex(key)).id


def pub(key: str) -> bytes:
    return derive_signer(bytes.fromhex(key)).public


def kid(key: str) -> str:
    return derive_sealing_key(bytes.fromhex(key)).kid


def rotated_and_retired(*keys: str) -> dict[str, str]:
    """The Secret's data after `key rotate` then `key retire` of the old key, for each next key."""
    data = {"IRONFLOW_MASTER_KEY": keys[0]}
    for old, new in itertools.pairwise(keys):
        data = rotate(data, new).data
        data = retire(data, kid(old)).data
    return data


def chain_text(data: dict[str, str]) -> str:
    """What the operator publishes with the sealing key for this Secret."""
    return sealing_key_data(parse_keyring(data), "keyed", "prod")["signerChain"]


def test_given_link_when_signed_then_message_is_the_documented_bytes() -> None:
    message = link_message(pub(A), pub(B))
    label, body = message.split(b"\n", 1)
    assert label == b"ironflow/v1/signer-chain-link"
    assert json.loads(body) == {
        "algorithm": "Ed25519",
        "endorsed": sid(B),
        "endorsedKey": base64.b64encode(pub(B)).decode(),
        "endorser": sid(A),
        "purpose": "endorse-next-operator-signer",
    }
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()


def test_given_three_rotations_each_retired_when_old_pins_follow_then_they_reach_the_current_signer() -> None:
    data = rotated_and_retired(A, B, C, D)
    assert data["IRONFLOW_PREVIOUS_KEYS"] == ""  # every old master key is gone
    text = chain_text(data)
    assert follow(text, sid(A), pub(D)) == (sid(A), sid(B), sid(C), sid(D))
    assert follow(text, sid(C), pub(D)) == (sid(C), sid(D))
    assert follow(text, sid(X), pub(D)) == ()


def test_given_hand_rotations_without_stored_chain_when_published_then_oldest_to_current() -> None:
    keyring = Keyring.from_master_keys(bytes.fromhex(C), [bytes.fromhex(B), bytes.fromhex(A)])
    assert follow(encode(keyring.chain), sid(A), pub(C)) == (sid(A), sid(B), sid(C))


def test_given_hand_rotation_when_retired_with_the_cli_then_the_retired_keys_link_is_kept() -> None:
    data = retire({"IRONFLOW_MASTER_KEY": B, "IRONFLOW_PREVIOUS_KEYS": A}, kid(A)).data
    assert data["IRONFLOW_PREVIOUS_KEYS"] == ""
    assert follow(chain_text(data), sid(A), pub(B)) == (sid(A), sid(B))


def test_given_replaced_key_when_published_then_the_old_chain_cannot_reach_it() -> None:
    data = {**rotated_and_retired(A, B), "IRONFLOW_MASTER_KEY": C}  # replaced, not rotated
    assert follow(chain_text(data), sid(A), pub(C)) == ()


def genuine() -> list[Link]:
    return list(parse(chain_text(rotated_and_retired(A, B, C))))  # A -> B -> C


def forged_link(endorser: bytes, endorsed: bytes) -> Link:
    """A link claiming `endorser`, signed with the attacker's key."""
    return Link(endorser, endorsed, make_link(derive_signer(bytes.fromhex(X)), endorsed).signature)


def reused_signature() -> Link:
    """A's genuine signature over another message (a sealing-key statement) moved into a link."""
    signer = derive_signer(bytes.fromhex(A))
    other = base64.b64decode(sign(signer, statement("prod", pub(X), "0" * 16, "alg")))
    return Link(pub(A), pub(X), other)


@pytest.mark.parametrize(
    ("links", "current", "match"),
    [
        (lambda g: [g[1], g[0]], C, "where link 1 ends"),
        (lambda g: [forged_link(pub(A), pub(X))], X, "does not verify"),
        (lambda g: [*g, forged_link(pub(C), pub(X))], X, "does not verify"),
        (lambda g: [g[0], forged_link(pub(B), pub(X))], X, "does not verify"),
        (lambda g: [reused_signature()], X, "does not verify"),
        (lambda g: [Link(g[0].endorser, pub(X), g[0].signature)], X, "does not verify"),
        (lambda g: g, X, "not at the publication's signer"),
        (lambda g: g[:1], C, "ends at"),
    ],
    ids=["reordered", "forged-first", "forged-appended", "spliced", "signature-reused", "target-swapped",
         "other-signer", "truncated-end"],
)
def test_given_tampered_chain_when_followed_then_refused_as_a_whole(
    links: Any, current: str, match: str
) -> None:
    with pytest.raises(BrokenChain, match=match):
        follow(encode(links(genuine())), sid(A), pub(current))


def test_given_front_truncated_chain_when_followed_then_old_pin_has_no_path_and_later_pin_follows() -> None:
    text = encode(genuine()[1:])  # B -> C: a shorter chain proves less, never more
    assert follow(text, sid(A), pub(C)) == ()
    assert follow(text, sid(B), pub(C)) == (sid(B), sid(C))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda items: "not json", "not valid JSON"),
        (lambda items: json.dumps({"a": 1}), "not a JSON list"),
        (lambda items: json.dumps([{**items[0], "to": items[1]["to"]}, items[1]]), "ids do not match"),
        (lambda items: json.dumps([{**items[0], "signature": "!!"}, items[1]]), "not valid base64"),
        (lambda items: json.dumps([items[0]] * (MAX_LINKS + 1)), "more than"),
    ],
    ids=["not-json", "not-list", "id-swapped", "bad-base64", "too-long"],
)
def test_given_malformed_chain_when_parsed_then_refused(mutate: Any, match: str) -> None:
    items = json.loads(encode(genuine()))
    with pytest.raises(BrokenChain, match=match):
        follow(mutate(items), sid(A), pub(C))


def test_given_damaged_stored_chain_when_loaded_then_operator_keeps_keys_and_rotate_refuses() -> None:
    data = {**rotated_and_retired(A, B), "IRONFLOW_SIGNER_CHAIN": encode([forged_link(pub(A), pub(B))])}
    keyring = parse_keyring(data)
    assert keyring.kids == (kid(B),) and keyring.chain == ()
    assert keyring.chain_problem is not None and "does not verify" in keyring.chain_problem
    with pytest.raises(KeyChangeRefused, match="damaged"):
        rotate(data, C)


def test_given_publication_when_chain_verified_then_needs_no_master_key() -> None:
    published = sealing_key_data(parse_keyring(rotated_and_retired(A, B)), "keyed", "prod")
    assert A not in json.dumps(published) and B not in json.dumps(published)
    key = verify_sealing_key(published, "prod", "cm")
    assert follow(key.chain, sid(A), key.signer) == (sid(A), sid(B))


def test_given_very_long_history_when_extended_then_oldest_links_dropped_and_rest_checks() -> None:
    signers = [derive_signer(bytes([i]) * 32) for i in range(3)]
    links = [make_link(signers[1], signers[0].public)] * MAX_LINKS  # shape only: extend keeps the tail
    extended = extend(links, [signers[2], signers[0]])
    assert len(extended) == MAX_LINKS and extended[-1].endorsed == signers[2].public
    check(extended[-1:])
