from __future__ import annotations

from typing import Any

from ironflow.core.conditions import desired_status, events, ready, status_patch
from ironflow.core.crypto import derive_sealing_key, seal
from ironflow.core.keyring import Keyring
from ironflow.core.model import CONFIG_KIND, SECRET_KIND, Resource, parse_resource
from ironflow.core.outcomes import KeyState, evaluate
from ironflow.core.projection import Actual, parse_versions, project, versions_annotation

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
KEYED = KeyState(Keyring.from_master_keys(KEY))
DEV = KeyState(Keyring.development(), dev_mode_allowed=True)
NO_KEY = KeyState(Keyring.development())
BROKEN = KeyState(None, "IRONFLOW_MASTER_KEY is 12 characters long")
UID = "abcdef0123456789"
NOW = "2026-11-28T00:00:00Z"


def sealed(name: str, value: bytes, key: bytes = KEY, ns: str = "prod") -> str:
    return seal(derive_sealing_key(key).public, ns, name, value)


def resource(kind: str, entries: dict[str, Any], generation: int = 1, status: dict[str, Any] | None = None,
             ) -> Resource:
    field = "sealed" if kind == SECRET_KIND else "values"
    body = {"metadata": {"namespace": "prod", "name": "app", "uid": UID, "generation": generation,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {field: entries}, "status": status or {}}
    return parse_resource(kind, body)  # type: ignore[arg-type]


def owned(data: dict[str, bytes]) -> Actual:
    return Actual(exists=True, owner_uid=UID, labelled=True, data=data, resource_version="1")


def run(res: Resource, keys: KeyState, actual: Actual, lost: dict[str, str] | None = None) -> Any:
    proj = project(res, evaluate(res, keys, lost or {}), actual, NOW)
    status = desired_status(res, proj, keys, NOW)
    return proj, status, events(res, proj, keys, ready(res, proj, keys))


def test_given_new_secret_when_projected_then_create_with_plaintext_and_version() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"s3cret")})
    proj, status, evs = run(res, KEYED, Actual.absent())
    assert proj.write == "create" and proj.data == {"DB": b"s3cret"}
    fact = status["names"]["DB"]
    assert fact["state"] == "Projected" and fact["version"] == "abcdef01-1"
    assert fact["keyId"] == derive_sealing_key(KEY).kid
    assert status["conditions"][0]["reason"] == "Projected"
    assert [e.reason for e in evs] == ["Projected"]
    assert "s3cret" not in repr(status) + repr(evs) + repr(proj)


def test_given_unchanged_resource_when_reconciled_again_then_no_write_no_status_no_events() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"s3cret")})
    _, status, _ = run(res, KEYED, Actual.absent())
    again = resource(SECRET_KIND, dict(res.entries), status=status)
    proj, status2, evs = run(again, KEYED, owned({"DB": b"s3cret"}))
    assert proj.write == "none" and evs == []
    assert status_patch(again, status2) is None


def test_given_resealed_same_plaintext_when_generation_bumps_then_version_kept() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"v")})
    _, status, _ = run(res, KEYED, Actual.absent())
    res2 = resource(SECRET_KIND, {"DB": sealed("DB", b"v")}, generation=2, status=status)
    proj, status2, _ = run(res2, KEYED, owned({"DB": b"v"}))
    assert proj.write == "none"
    assert status2["names"]["DB"]["version"] == "abcdef01-1"


def test_given_changed_value_when_reconciled_then_update_and_new_version() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"v")})
    _, status, _ = run(res, KEYED, Actual.absent())
    res2 = resource(SECRET_KIND, {"DB": sealed("DB", b"w")}, generation=2, status=status)
    proj, status2, evs = run(res2, KEYED, owned({"DB": b"v"}))
    assert proj.write == "update" and proj.data == {"DB": b"w"}
    assert status2["names"]["DB"]["version"] == "abcdef01-2"
    assert evs == []  # the new version in status says it; no Event write for a change that keeps Ready


def test_given_wrong_key_when_unsealed_then_last_good_value_kept_and_failure_reported() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"new", key=OTHER)}, generation=2)
    proj, status, evs = run(res, KEYED, owned({"DB": b"old"}))
    assert proj.data == {"DB": b"old"} and proj.write == "none"
    assert status["names"]["DB"]["reason"] == "WrongKey"
    assert status["conditions"][0]["status"] == "False"
    assert status["conditions"][0]["reason"] == "UnsealFailed"
    assert [e.reason for e in evs] == ["UnsealFailed"]


def test_given_value_moved_from_other_namespace_when_unsealed_then_authentication_failed() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"x", ns="staging")})
    _, status, _ = run(res, KEYED, Actual.absent())
    assert status["names"]["DB"]["reason"] == "AuthenticationFailed"


def test_given_malformed_master_key_when_reconciled_then_nothing_unsealed_everything_kept() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"new"), "API": sealed("API", b"a")})
    proj, status, evs = run(res, BROKEN, owned({"DB": b"old"}))
    assert proj.data == {"DB": b"old"}
    assert status["mode"] == "invalid-key"
    assert status["conditions"][0]["reason"] == "MasterKeyInvalid"
    assert [e.reason for e in evs] == ["MasterKeyInvalid"]


def test_given_dev_mode_when_dev_value_then_projected_and_marked() -> None:
    res = resource(SECRET_KIND, {"DB": "dev:plain"})
    proj, status, evs = run(res, DEV, Actual.absent())
    assert proj.data == {"DB": b"plain"}
    assert status["conditions"][0]["reason"] == "DevMode" and status["mode"] == "dev"
    assert {e.reason for e in evs} == {"DevMode", "Projected"}


def test_given_no_key_without_dev_mode_when_reconciled_then_nothing_unsealed_everything_kept() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"new"), "API": "dev:plain-canary"})
    proj, status, evs = run(res, NO_KEY, owned({"DB": b"old"}))
    assert proj.data == {"DB": b"old"}
    assert status["mode"] == "no-key"
    assert {n: f["reason"] for n, f in status["names"].items()} == {"API": "NoMasterKey", "DB": "NoMasterKey"}
    assert status["conditions"][0]["status"] == "False"
    assert status["conditions"][0]["reason"] == "NoMasterKey"
    assert [e.reason for e in evs] == ["NoMasterKey"]
    assert "plain-canary" not in repr(status) + repr(evs) + repr(proj)


def test_given_no_key_without_dev_mode_when_config_reconciled_then_projected_and_ready() -> None:
    res = resource(CONFIG_KIND, {"A": 1})
    proj, status, evs = run(res, NO_KEY, Actual.absent())
    assert proj.data == {"A": b"1"}
    assert (status["conditions"][0]["status"], status["conditions"][0]["reason"]) == ("True", "Projected")
    assert status["mode"] == "no-key"
    assert [e.reason for e in evs] == ["Projected"]


def test_given_name_projected_again_after_key_fault_when_status_patched_then_stale_reason_removed() -> None:
    value = sealed("DB", b"v")
    res = resource(SECRET_KIND, {"DB": value})
    _, faulted, _ = run(res, NO_KEY, owned({"DB": b"v"}))
    assert faulted["names"]["DB"]["reason"] == "NoMasterKey"
    after = resource(SECRET_KIND, {"DB": value}, status=faulted)
    proj = project(after, evaluate(after, KEYED, {}), owned({"DB": b"v"}), NOW)
    patch = status_patch(after, desired_status(after, proj, KEYED, NOW))
    assert patch is not None
    merged = {**faulted["names"]["DB"], **patch["names"]["DB"]}  # what a JSON merge patch leaves
    assert {k: v for k, v in merged.items() if v is not None}.get("reason") is None
    assert merged["state"] == "Projected"


def test_given_keyed_mode_when_dev_value_then_refused() -> None:
    res = resource(SECRET_KIND, {"DB": "dev:plain"})
    proj, status, _ = run(res, KEYED, Actual.absent())
    assert proj.data == {}
    assert status["names"]["DB"]["reason"] == "DevValueRefused"


def test_given_unowned_object_when_projecting_then_blocked_and_ownership_conflict() -> None:
    res = resource(CONFIG_KIND, {"A": 1})
    proj, status, evs = run(res, KEYED, Actual(exists=True, owner_uid=None, data={"A": b"mine"}))
    assert proj.write == "blocked"
    assert status["conditions"][0]["reason"] == "OwnershipConflict"
    assert [e.reason for e in evs] == ["OwnershipConflict"]


def test_given_lost_name_when_projecting_then_conflict_and_name_left_out() -> None:
    res = resource(CONFIG_KIND, {"A": 1, "B": 2})
    proj, status, evs = run(res, KEYED, Actual.absent(), lost={"A": "older"})
    assert proj.data == {"B": b"2"}
    assert status["names"]["A"]["state"] == "Conflict"
    assert status["conditions"][0]["reason"] == "NameConflict"
    assert "NameConflict" in [e.reason for e in evs]


def test_given_removed_name_when_reconciled_then_removed_from_data_and_status_patch_nulls_it() -> None:
    first = resource(CONFIG_KIND, {"A": 1, "B": 2})
    _, status, _ = run(first, KEYED, Actual.absent())
    res = resource(CONFIG_KIND, {"A": 1}, generation=2, status=status)
    proj, status2, _ = run(res, KEYED, owned({"A": b"1", "B": b"2"}))
    assert proj.write == "update" and proj.data == {"A": b"1"}
    patch = status_patch(res, status2)
    assert patch is not None and patch["names"]["B"] is None


def test_given_hand_edited_projection_when_repaired_then_version_unchanged() -> None:
    res = resource(CONFIG_KIND, {"A": "x"})
    _, status, _ = run(res, KEYED, Actual.absent())
    res2 = resource(CONFIG_KIND, {"A": "x"}, status=status)
    proj, status2, _ = run(res2, KEYED, owned({"A": b"edited"}))
    assert proj.write == "update"
    assert status2["names"]["A"]["version"] == status["names"]["A"]["version"]
    assert status_patch(res2, status2) is None


def test_given_write_refused_when_status_computed_then_projection_failed_and_old_facts_kept() -> None:
    first = resource(SECRET_KIND, {"DB": sealed("DB", b"v")})
    _, status, _ = run(first, KEYED, Actual.absent())
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"w")}, generation=2, status=status)
    proj = project(res, evaluate(res, KEYED, {}), owned({"DB": b"v"}), NOW)
    state = ready(res, proj, KEYED, "the API server answered 403 Forbidden")
    assert (state.status, state.reason) == ("False", "ProjectionFailed")
    desired = desired_status(res, proj, KEYED, NOW, "the API server answered 403 Forbidden")
    assert desired["names"] == status["names"]
    assert [e.reason for e in events(res, proj, KEYED, state)] == ["ProjectionFailed"]


def _crash_window(kind: str) -> tuple[Any, Any]:
    """Value changed at generation 2, object written (with its versions), status write lost."""
    entry = (lambda v: sealed("DB", v)) if kind == SECRET_KIND else (lambda v: v.decode())
    res = resource(kind, {"DB": entry(b"v")})
    _, status, _ = run(res, KEYED, Actual.absent())
    res2 = resource(kind, {"DB": entry(b"w")}, generation=2, status=status)
    written = project(res2, evaluate(res2, KEYED, {}), owned({"DB": b"v"}), NOW)
    assert written.write == "update" and written.versions == {"DB": "abcdef01-2"}
    holding = Actual(exists=True, owner_uid=UID, labelled=True, data={"DB": b"w"}, resource_version="2",
                     versions=written.versions)
    return res2, holding


def test_given_object_already_holds_new_value_when_status_lags_then_version_and_last_changed_move() -> None:
    for kind in (SECRET_KIND, CONFIG_KIND):
        res2, holding = _crash_window(kind)
        later = "2026-11-28T00:05:00Z"
        proj = project(res2, evaluate(res2, KEYED, {}), holding, later)
        status = desired_status(res2, proj, KEYED, later)
        assert proj.write == "none", kind
        assert status["names"]["DB"]["version"] == "abcdef01-2", kind
        assert status["names"]["DB"]["lastChanged"] == later, kind
        assert proj.changed_names == ["DB"], kind


def test_given_crash_window_when_value_then_fails_to_unseal_then_held_version_still_reported() -> None:
    res2, holding = _crash_window(SECRET_KIND)
    broken = resource(SECRET_KIND, {"DB": sealed("DB", b"x", key=OTHER)}, generation=3, status=res2.status)
    proj, status, _ = run(broken, KEYED, holding)
    assert proj.data == {"DB": b"w"} and status["names"]["DB"]["version"] == "abcdef01-2"


def test_given_object_without_versions_annotation_when_unchanged_then_status_trusted_and_no_write() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"v")})
    _, status, _ = run(res, KEYED, Actual.absent())
    again = resource(SECRET_KIND, dict(res.entries), generation=2, status=status)
    proj, status2, _ = run(again, KEYED, owned({"DB": b"v"}))
    assert proj.write == "none" and status2["names"]["DB"]["version"] == "abcdef01-1"


def test_given_versions_annotation_out_of_step_when_reconciled_then_rewritten() -> None:
    res = resource(SECRET_KIND, {"DB": sealed("DB", b"v"), "NEW": sealed("NEW", b"n")})
    _, status, _ = run(res, KEYED, Actual.absent())
    partial = Actual(exists=True, owner_uid=UID, labelled=True, data={"DB": b"v", "NEW": b"n"},
                     resource_version="1", versions={"DB": "abcdef01-1"})
    again = resource(SECRET_KIND, dict(res.entries), status=status)
    proj, _, _ = run(again, KEYED, partial)
    assert proj.write == "update" and proj.versions == {"DB": "abcdef01-1", "NEW": "abcdef01-1"}


def test_given_versions_annotation_when_parsed_then_only_string_tokens_kept() -> None:
    assert parse_versions(versions_annotation({"B": "x-2", "A": "x-1"})) == {"A": "x-1", "B": "x-2"}
    assert parse_versions('{"A": 3, "B": "x-1"}') == {"B": "x-1"}
    assert parse_versions("not json") is None and parse_versions(None) is None
    assert parse_versions("[1]") is None
