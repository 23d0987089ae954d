"""Per-name status tells the first cause (which name, which key id) for every Secret type.

A kubernetes.io/tls or dockerconfigjson Secret whose required names fail to unseal is not written
at all (the API server would answer 422 `data[tls.crt]: Required value`, hiding the cause): each
name's status carries its own cause, and Ready names the unseal failure first.
"""

from __future__ import annotations

from typing import Any

import pytest

from ironflow.core.conditions import desired_status, events, ready
from ironflow.core.crypto import derive_sealing_key, seal
from ironflow.core.keyring import Keyring
from ironflow.core.model import SECRET_KIND, Resource, parse_resource
from ironflow.core.outcomes import KeyState, evaluate
from ironflow.core.projection import Actual, Projection, project

KEY, FOREIGN = bytes(range(32)), bytes(range(7, 39))
KEYED = KeyState(Keyring.from_master_keys(KEY))
FOREIGN_KID = derive_sealing_key(FOREIGN).kid
UID, NOW = "abcdef0123456789", "2026-12-06T00:00:00Z"


def _resource(type_: str, sealed: dict[str, str], status: dict[str, Any] | None = None) -> Resource:
    body = {"metadata": {"namespace": "prod", "name": "web", "uid": UID, "generation": 1,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"sealed": sealed, "template": {"type": type_}}, "status": status or {}}
    return parse_resource(SECRET_KIND, body)


def _sealed(name: str, key: bytes) -> str:
    return seal(derive_sealing_key(key).public, "prod", name, b"v-" + name.encode())


def _run(res: Resource, actual: Actual) -> tuple[Projection, dict[str, Any]]:
    projection = project(res, evaluate(res, KEYED, {}), actual, NOW)
    return projection, desired_status(res, projection, KEYED, NOW)


@pytest.mark.parametrize(("type_", "names"), [
    ("kubernetes.io/tls", ("tls.crt", "tls.key")),
    ("kubernetes.io/dockerconfigjson", (".dockerconfigjson",)),
])
def test_given_required_names_sealed_for_a_foreign_key_when_projected_then_no_write_and_cause_per_name(
    type_: str, names: tuple[str, ...]
) -> None:
    projection, status = _run(_resource(type_, {n: _sealed(n, FOREIGN) for n in names}), Actual.absent())
    assert projection.write == "none" and projection.held == names and dict(projection.data) == {}
    for name in names:
        fact = status["names"][name]
        assert (fact["state"], fact["reason"], fact["keyId"]) == ("Failed", "WrongKey", FOREIGN_KID)
        assert fact["message"].startswith(f"{name}: ") and FOREIGN_KID in fact["message"]
        assert "version" not in fact
    condition = status["conditions"][0]
    assert (condition["status"], condition["reason"]) == ("False", "UnsealFailed")
    assert condition["message"].startswith(f"{names[0]}: ") and FOREIGN_KID in condition["message"]
    assert f"is not written while {', '.join(names)}" in condition["message"]
    assert "422" not in condition["message"]


def test_given_one_required_name_fails_when_projected_then_the_other_waits_saying_for_what() -> None:
    sealed = {"tls.crt": _sealed("tls.crt", KEY), "tls.key": _sealed("tls.key", FOREIGN)}
    res = _resource("kubernetes.io/tls", sealed)
    projection, status = _run(res, Actual.absent())
    assert projection.write == "none" and projection.held == ("tls.key",)
    crt = status["names"]["tls.crt"]
    assert (crt["state"], crt["reason"]) == ("Pending", "RequiredNameFailed")
    assert "needs tls.key" in crt["message"] and "version" not in crt
    assert status["names"]["tls.key"]["reason"] == "WrongKey"


def test_given_projected_tls_secret_when_new_values_fail_then_nothing_blanked_and_written() -> None:
    res = _resource("kubernetes.io/tls", {n: _sealed(n, FOREIGN) for n in ("tls.crt", "tls.key")})
    old = {"tls.crt": b"c", "tls.key": b"k"}
    actual = Actual(exists=True, owner_uid=UID, labelled=True, data=old, resource_version="1",
                    versions={"tls.crt": "abcdef01-1", "tls.key": "abcdef01-1"})
    projection, status = _run(res, actual)
    assert projection.write == "none" and dict(projection.data) == old and projection.held == ()
    assert status["names"]["tls.crt"]["version"] == "abcdef01-1"
    assert status["names"]["tls.crt"]["reason"] == "WrongKey"


def test_given_opaque_secret_failing_when_projected_then_written_without_it_as_before() -> None:
    res = _resource("Opaque", {"A": _sealed("A", FOREIGN), "B": _sealed("B", KEY)})
    projection, status = _run(res, Actual.absent())
    assert projection.write == "create" and set(projection.data) == {"B"} and projection.held == ()
    assert status["names"]["A"]["reason"] == "WrongKey" and "message" not in status["names"]["B"]


def test_given_write_refused_and_a_name_failing_when_status_built_then_the_name_cause_comes_first() -> None:
    res = _resource("Opaque", {"A": _sealed("A", FOREIGN), "B": _sealed("B", KEY)})
    projection = project(res, evaluate(res, KEYED, {}), Actual.absent(), NOW)
    refusal = "the API server answered 403 Forbidden"
    state = ready(res, projection, KEYED, refusal)
    assert state.reason == "UnsealFailed" and state.message.startswith("A: ")
    assert refusal in state.message
    names = desired_status(res, projection, KEYED, NOW, refusal)["names"]
    assert names["A"]["reason"] == "WrongKey" and names["A"]["keyId"] == FOREIGN_KID
    assert (names["B"]["state"], names["B"]["reason"]) == ("Pending", "ProjectionFailed")
    assert refusal in names["B"]["message"]
    assert [e.reason for e in events(res, projection, KEYED, state)] == ["UnsealFailed"]
