from __future__ import annotations

import pytest

from ironflow.core.model import CONFIG_KIND, SECRET_KIND, InvalidResource, config_string, parse_resource


def body(spec: dict[str, object], **meta: object) -> dict[str, object]:
    metadata = {"namespace": "prod", "name": "app", "uid": "0123456789abcdef", "generation": 3,
                "creationTimestamp": "2026-01-01T00:00:00Z", **meta}
    return {"metadata": metadata, "spec": spec}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", "plain"), (2500, "2500"), (True, "true"), (None, "null"), ({"a": [1, 2]}, '{"a":[1,2]}'),
     ("über", "über"), (1.5, "1.5")],
)
def test_given_config_value_when_projected_then_json_string_as_is_else_compact_json(
        value: object, expected: str) -> None:
    assert config_string(value) == expected


def test_given_config_body_when_parsed_then_entries_are_projected_strings() -> None:
    res = parse_resource(CONFIG_KIND, body({"values": {"HTTP_TIMEOUT_MS": 2500, "FLAG": True}}))
    assert res.entries == {"HTTP_TIMEOUT_MS": "2500", "FLAG": "true"}
    assert res.generation == 3 and res.key == (CONFIG_KIND, "prod", "app")


def test_given_invalid_name_and_non_string_sealed_when_parsed_then_reported_per_name() -> None:
    res = parse_resource(SECRET_KIND, body({"sealed": {"1 BAD": "dev:x", "OK": "dev:y", "NUM": 5}}))
    assert set(res.entries) == {"OK"}
    assert set(res.invalid) == {"1 BAD", "NUM"}
    assert "dev:" not in " ".join(res.invalid.values())
    assert res.names == frozenset({"OK", "1 BAD", "NUM"})


def test_given_body_without_uid_when_parsed_then_invalid_resource() -> None:
    with pytest.raises(InvalidResource):
        parse_resource(SECRET_KIND, {"metadata": {"namespace": "a", "name": "b"}, "spec": {}})


def test_given_empty_spec_when_parsed_then_no_entries() -> None:
    assert parse_resource(SECRET_KIND, body({})).entries == {}
