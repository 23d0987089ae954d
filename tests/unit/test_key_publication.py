"""The signed sealing-key publication: what verifies, what a ConfigMap editor cannot forge."""

from __future__ import annotations

import base64

import pytest

from ironflow.cli import sealing
from ironflow.cli.errors import UserError
from ironflow.core.crypto import InvalidSealingKey, derive_sealing_key, sealing_key_configmap_data
from ironflow.core.key_publication import anchor_data, sealing_key_data, verify_sealing_key
from ironflow.core.keyring import Keyring
from ironflow.core.signer_chain import follow, parse
from ironflow.core.signing import derive_signer, signer_id

OLD, NEW, ATTACKER = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))
KEYRING = Keyring.from_master_keys(NEW, [OLD])


def test_given_known_master_key_when_signer_derived_then_known_answer() -> None:
    # Pinned: a change here changes every user's pin (docs/crypto.md, "Trust").
    # computed independently from docs/crypto.md section 1 (HKDF with salt None = empty, Ed25519 seed)
    signer = derive_signer(bytes(range(32)))
    assert base64.b64encode(signer.public).decode() == "pD9kZO5oCmDeDcULT6wxM54hFj+HE85af6opY8liGY0="
    assert signer.id == signer_id(signer.public) == "c6760a91029bfd9a4c5dc16e3feb2b4c"
    assert signer.id != derive_signer(NEW).id
    assert "private" not in repr(signer)


def test_given_keyed_publication_when_verified_for_its_namespace_then_key_and_signer() -> None:
    data = sealing_key_data(KEYRING, "keyed", "prod")
    key = verify_sealing_key(data, "prod", "cm")
    assert (key.public, key.kid) == (derive_sealing_key(NEW).public, derive_sealing_key(NEW).kid)
    assert key.signer == derive_signer(NEW).public


def test_given_publication_copied_to_another_namespace_when_verified_then_refused() -> None:
    data = sealing_key_data(KEYRING, "keyed", "prod")
    with pytest.raises(InvalidSealingKey, match="another namespace"):
        verify_sealing_key(data, "staging", "cm")


def test_given_attacker_key_under_the_real_signature_when_verified_then_refused() -> None:
    data = sealing_key_data(KEYRING, "keyed", "prod")
    data.update(sealing_key_configmap_data(derive_sealing_key(ATTACKER)))
    with pytest.raises(InvalidSealingKey, match="signature"):
        verify_sealing_key(data, "prod", "cm")


def test_given_unsigned_keyed_publication_when_read_online_then_refused() -> None:
    data = {"mode": "keyed", **sealing_key_configmap_data(derive_sealing_key(ATTACKER))}
    with pytest.raises(UserError, match="not signed"):
        sealing.from_configmap({"data": data}, "prod")


def test_given_attacker_self_signed_publication_when_verified_then_signer_is_the_attackers() -> None:
    forged = sealing_key_data(Keyring.from_master_keys(ATTACKER), "keyed", "prod")
    key = verify_sealing_key(forged, "prod", "cm")  # verifies against itself only
    assert key.signer_id != derive_signer(NEW).id  # the CLI's pin check is what refuses it
    assert follow(key.chain, derive_signer(NEW).id, key.signer) == ()


def test_given_rotation_when_published_then_chain_leads_from_previous_signer_to_current_only() -> None:
    key = verify_sealing_key(sealing_key_data(KEYRING, "keyed", "prod"), "prod", "cm")
    old, new = derive_signer(OLD).id, derive_signer(NEW).id
    assert follow(key.chain, old, key.signer) == (old, new)
    assert follow(key.chain, derive_signer(ATTACKER).id, key.signer) == ()
    anchor = anchor_data(KEYRING, "keyed")
    assert anchor["signerId"] == new and anchor["keyId"] == derive_sealing_key(NEW).kid
    assert anchor["signerChain"] == key.chain and len(parse(anchor["signerChain"])) == 1


@pytest.mark.parametrize("mode", ["dev", "no-key", "invalid-key"])
def test_given_keyless_mode_when_published_then_mode_only(mode: str) -> None:
    assert set(sealing_key_data(None, mode, "prod")) == {"algorithm", "mode"}
    assert anchor_data(None, mode) == {"mode": mode}


@pytest.mark.parametrize(
    ("data", "dev", "fragment"),
    [
        ({"mode": "dev"}, False, "--dev"),
        ({"mode": "no-key"}, False, "NoMasterKey"),
        ({"mode": "no-key"}, True, "NoMasterKey"),
        (sealing_key_data(KEYRING, "keyed", "prod"), True, "drop --dev"),
    ],
)
def test_given_published_mode_when_read_then_plaintext_only_on_explicit_dev(
    data: dict[str, str], dev: bool, fragment: str
) -> None:
    with pytest.raises(UserError) as caught:
        sealing.from_configmap({"data": data}, "prod", dev=dev)
    assert fragment in caught.value.message
