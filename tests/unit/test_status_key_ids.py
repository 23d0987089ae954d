"""`ironflow status`: a value sealed for a key id the operator does not hold is not "older".

Previous keys can be retired once nothing is sealed for them; a key id the operator has never
held (another cluster's, or one retired) is a different finding: those values never unseal here,
and no reseal can reach them. The operator's per-name status (reason WrongKey) tells them apart.
"""

from __future__ import annotations

from typing import Any

from ironflow.cli.status import _keys_human, _older_keys
from ironflow.core.crypto import derive_sealing_key, seal

CURRENT, PREVIOUS, FOREIGN = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))


def _kid(key: bytes) -> str:
    return derive_sealing_key(key).kid


def _sealed(key: bytes, name: str) -> str:
    return seal(derive_sealing_key(key).public, "prod", name, b"x")


class _Api:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def list(self, kind: Any, namespace: str | None) -> list[dict[str, Any]]:
        return self.items


def test_given_previous_and_foreign_key_ids_when_counted_then_told_apart() -> None:
    obj = {
        "metadata": {"name": "app", "namespace": "prod"},
        "spec": {"sealed": {"OLD": _sealed(PREVIOUS, "OLD"), "ALIEN": _sealed(FOREIGN, "ALIEN"),
                            "NEW": _sealed(CURRENT, "NEW")}},
        "status": {"names": {"OLD": {"state": "Projected", "keyId": _kid(PREVIOUS)},
                             "ALIEN": {"state": "Failed", "reason": "WrongKey", "keyId": _kid(FOREIGN)},
                             "NEW": {"state": "Projected", "keyId": _kid(CURRENT)}}},
    }
    rows = [{"environment": "prod", "mode": "keyed", "keyId": _kid(CURRENT)}]
    _older_keys(_Api([obj]), "prod", rows, wide=True)  # type: ignore[arg-type]
    assert rows[0]["olderKeys"] == {_kid(PREVIOUS): 1}
    assert rows[0]["unknownKeys"] == {_kid(FOREIGN): 1}
    text = _keys_human(rows)
    assert f"1 value(s) still sealed for previous key id {_kid(PREVIOUS)}: app/OLD" in text
    assert f"1 value(s) sealed for unknown key id {_kid(FOREIGN)}, not among the operator's current or " \
           "previous keys" in text and text.endswith("seal them again: app/ALIEN")
    assert "older key id" not in text
