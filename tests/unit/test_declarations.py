"""Pod annotations -> Declaration: the strict parse users see in `kubectl apply` errors."""

from __future__ import annotations

import pytest

from ironflow.core.declarations import (
    Declaration,
    DeclarationError,
    DeclaredName,
    declares_anything,
    parse_declaration,
)


def test_given_no_declaring_annotation_when_parsed_then_nothing_is_declared() -> None:
    assert parse_declaration(None) is None
    assert parse_declaration({"ironflow.io/projection": "files", "other": "x"}) is None
    assert not declares_anything({"ironflow.io/containers": "app"})


def test_given_secrets_with_optional_marker_when_parsed_then_optional_flags_and_env_default() -> None:
    d = parse_declaration(
        {"ironflow.io/secrets": "DB_PASSWORD, SLACK_WEBHOOK?", "ironflow.io/configs": "HTTP_TIMEOUT_MS"}
    )
    assert d == Declaration(
        names=(
            DeclaredName("secret", "DB_PASSWORD", optional=False),
            DeclaredName("secret", "SLACK_WEBHOOK", optional=True),
            DeclaredName("config", "HTTP_TIMEOUT_MS", optional=False),
        ),
        env=True,
        files=False,
        containers=None,
    )


@pytest.mark.parametrize(
    ("raw", "env", "files"),
    [("env", True, False), ("files", False, True), ("env,files", True, True), (" files , env ", True, True)],
)
def test_given_projection_mode_when_parsed_then_modes_set(raw: str, env: bool, files: bool) -> None:
    d = parse_declaration({"ironflow.io/secrets": "A", "ironflow.io/projection": raw})
    assert d is not None
    assert (d.env, d.files) == (env, files)


def test_given_containers_when_parsed_then_listed_in_order() -> None:
    d = parse_declaration({"ironflow.io/configs": "A", "ironflow.io/containers": "app, init-db"})
    assert d is not None
    assert d.containers == ("app", "init-db")


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({"ironflow.io/secrets": ""}, "ironflow.io/secrets: is empty"),
        ({"ironflow.io/secrets": "  "}, "ironflow.io/secrets: is empty"),
        ({"ironflow.io/configs": "A,,B"}, "ironflow.io/configs: entry 2 of 'A,,B' is empty"),
        (
            {"ironflow.io/secrets": "1BAD"},
            "ironflow.io/secrets: 1BAD is not an environment variable name, so it cannot be injected as env; "
            "use files mode",
        ),
        ({"ironflow.io/secrets": "DB PASSWORD"}, "'DB PASSWORD' is not a valid Secret/ConfigMap key"),
        (
            {"ironflow.io/secrets": "tls.crt"},
            "which mounts it at /var/run/ironflow/secrets/tls.crt",
        ),
        ({"ironflow.io/configs": "..x", "ironflow.io/projection": "files"}, "must not be '.' or '..'"),
        ({"ironflow.io/secrets": "?"}, "ironflow.io/secrets: name must not be empty"),
        ({"ironflow.io/secrets": "A, A?"}, "ironflow.io/secrets: A is listed twice"),
        (
            {"ironflow.io/secrets": "A", "ironflow.io/configs": "A"},
            "A is declared both in ironflow.io/secrets",
        ),
        ({"ironflow.io/secrets": "A", "ironflow.io/projection": "volume"}, "unknown mode 'volume'"),
        ({"ironflow.io/secrets": "A", "ironflow.io/projection": ""}, "ironflow.io/projection: is empty"),
        ({"ironflow.io/secrets": "A", "ironflow.io/projection": "env,env"}, "names a mode twice"),
        ({"ironflow.io/secrets": "A", "ironflow.io/containers": ""}, "ironflow.io/containers: is empty"),
        (
            {"ironflow.io/secrets": "A", "ironflow.io/containers": "App"},
            "'App' is not a valid container name",
        ),
    ],
)
def test_given_malformed_annotation_when_parsed_then_precise_error(
    annotations: dict[str, str], message: str
) -> None:
    with pytest.raises(DeclarationError) as e:
        parse_declaration(annotations)
    assert message in str(e.value)


def test_given_same_name_as_secret_and_config_in_files_mode_when_parsed_then_accepted() -> None:
    d = parse_declaration(
        {"ironflow.io/secrets": "A", "ironflow.io/configs": "A", "ironflow.io/projection": "files"}
    )
    assert d is not None
    assert [n.kind for n in d.names] == ["secret", "config"]
