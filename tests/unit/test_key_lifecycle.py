"""Rotate and retire as edits of the master-key Secret's data: no key is ever lost."""

from __future__ import annotations

import pytest

from ironflow.core.key_lifecycle import KeyChangeRefused, retire, rotate
from ironflow.core.keyring import MalformedMasterKey, parse_keyring
from ironflow.core.sealing_key import derive_sealing_key

A, B, C = "aa" * 32, "bb" * 32, "cc" * 32


def kid(key: str) -> str:
    return derive_sealing_key(bytes.fromhex(key)).kid


def test_given_keyed_secret_when_rotated_then_current_becomes_first_previous_and_all_still_unseal() -> None:
    change = rotate({"IRONFLOW_MASTER_KEY": A.upper() + "\n", "IRONFLOW_PREVIOUS_KEYS": B}, C)
    keys = {k: v for k, v in change.data.items() if k != "IRONFLOW_SIGNER_CHAIN"}
    assert keys == {"IRONFLOW_MASTER_KEY": C, "IRONFLOW_PREVIOUS_KEYS": f"{A},{B}"}
    assert (change.old_kid, change.new_kid, change.previous_kids) == (kid(A), kid(C), (kid(A), kid(B)))
    assert parse_keyring(change.data).kids == (kid(C), kid(A), kid(B))
    assert A not in repr(change) and C not in repr(change)


@pytest.mark.parametrize("data", [None, {}, {"IRONFLOW_MASTER_KEY": ""}])
def test_given_no_key_when_rotated_then_refused(data: dict[str, str] | None) -> None:
    with pytest.raises(KeyChangeRefused, match="no master key"):
        rotate(data, C)


def test_given_malformed_secret_when_rotated_then_refused_without_touching_it() -> None:
    with pytest.raises(MalformedMasterKey):
        rotate({"IRONFLOW_MASTER_KEY": "short"}, C)


def test_given_previous_key_when_retired_then_only_it_goes() -> None:
    change = retire({"IRONFLOW_MASTER_KEY": C, "IRONFLOW_PREVIOUS_KEYS": f"{A},{B}"}, kid(A))
    assert change.data["IRONFLOW_PREVIOUS_KEYS"] == B and change.data["IRONFLOW_MASTER_KEY"] == C
    last = retire(change.data, kid(B))
    assert (last.data["IRONFLOW_MASTER_KEY"], last.data["IRONFLOW_PREVIOUS_KEYS"]) == (C, "")
    assert parse_keyring(last.data).kids == (kid(C),)


def test_given_current_or_unknown_key_id_when_retired_then_refused() -> None:
    data = {"IRONFLOW_MASTER_KEY": C, "IRONFLOW_PREVIOUS_KEYS": A}
    with pytest.raises(KeyChangeRefused, match="current key"):
        retire(data, kid(C))
    with pytest.raises(KeyChangeRefused, match="not among the previous keys"):
        retire(data, kid(B))
