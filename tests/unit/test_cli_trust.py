"""The known-signers file: one pin per cluster, written atomically, never silently replaced."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ironflow.cli.errors import UserError
from ironflow.cli.trust import PinStore, check_signer_id

ID_A, ID_B = "a" * 32, "b" * 32


def test_given_two_clusters_when_pinned_then_each_keeps_its_own_signer(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "ironflow" / "known-signers.json")
    assert store.get("https://one") is None
    store.put("https://one", ID_A)
    store.put("https://two", ID_B)
    assert (store.get("https://one"), store.get("https://two")) == (ID_A, ID_B)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_given_damaged_pin_file_when_read_then_one_line_refusal_not_a_fresh_start(tmp_path: Path) -> None:
    path = tmp_path / "known-signers.json"
    path.write_text("{not json")
    with pytest.raises(UserError, match="fix or remove it"):
        PinStore(path).get("https://one")


@pytest.mark.parametrize("text", ["", "abc", "g" * 32, "a" * 31, "a" * 64])
def test_given_malformed_signer_id_when_checked_then_refused(text: str) -> None:
    with pytest.raises(UserError, match="32 hex characters"):
        check_signer_id(text)


def test_given_signer_id_in_capitals_when_checked_then_normalised() -> None:
    assert check_signer_id(" " + ID_A.upper() + "\n") == ID_A
