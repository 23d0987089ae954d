"""`ironflow config ...`: plaintext JSON values, readable by anyone who can read the resource."""

from __future__ import annotations

import json
from typing import Any

import click

from ironflow.cli.environments import definer_for, environment_of, unset_name, warn_if_shadowed
from ironflow.cli.errors import UserError
from ironflow.cli.output import emit, shorten, table
from ironflow.cli.served import ALLOW_FLAG, did_you_mean, require_served
from ironflow.cli.session import Session, env_option, pass_session, resource_option, shared_options
from ironflow.cli.value_input import read_value
from ironflow.core import bounded_json
from ironflow.core.config_values import value_problem
from ironflow.core.model import config_string
from ironflow.core.names import validate_name
from ironflow.k8s.sync_resources import CONFIGS, entries, name_facts


@click.group("config")
def config_group() -> None:
    """Plaintext configuration values (any JSON), one environment (namespace) at a time."""


def parse_json_value(text: str) -> Any:
    """Strict JSON (no NaN/Infinity), decoded without recursion, held to the config value rules
    (`core.config_values`) the API server and the operator apply: null, nesting deeper than
    MAX_VALUE_DEPTH and numbers beyond +/-2^53 are refused here with one line, not a traceback."""
    try:
        value = bounded_json.loads(text)
    except ValueError as exc:
        raise UserError(
            f"value is not JSON ({exc}); quote strings as JSON ('\"text\"') or pass --string"
        ) from None
    if value is None:
        raise UserError("null is not a config value; use `ironflow config unset` to remove a name")
    problem = value_problem(value)
    if problem is not None:
        raise UserError(f"value refused: {problem}")
    return value


JSON_OPENERS = ("{", "[", '"')


def json_or_string(text: str) -> Any:
    """The `config set` rule: valid (strict) JSON is taken as JSON, anything else as a string, so
    `config set MODE fast` needs no JSON quoting. null and the other value rules still apply.

    Text that opens like a JSON object, array or string but does not parse (`{"max": 3`) is a
    typo far more often than an intended string; stored silently, pods would get the broken text.
    So it is refused, and --string is there for the rare text that really is like that."""
    try:
        bounded_json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith(JSON_OPENERS):
            raise UserError(
                f"value looks like JSON but is not valid JSON ({exc}); fix it, or pass --string to store "
                "the text as a string"
            ) from None
        return text
    return parse_json_value(text)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@config_group.command("set")
@click.argument("name")
@click.argument("value", required=False, metavar="[VALUE|-]")
@click.option(
    "--from-file", type=click.Path(dir_okay=False), metavar="FILE", help="read the value from FILE."
)
@click.option("-s", "--string", "as_string", is_flag=True, help="store the text as a JSON string, unparsed.")
@click.option(
    ALLOW_FLAG,
    "allow_unserved",
    is_flag=True,
    help="write even though no operator serves the environment (e.g. before installing it).",
)
@env_option
@resource_option
@shared_options
@pass_session
def config_set(
    session: Session,
    name: str,
    value: str | None,
    from_file: str | None,
    as_string: bool,
    allow_unserved: bool,
    env: str,
    resource: str | None,
) -> None:
    """Set NAME to VALUE; - reads stdin. VALUE that is valid JSON is taken as JSON (2500, true,
    '{"a":1}', '"text"'), anything else as a plain string (fast, https://x), except text opening
    with { [ or " that is not valid JSON, which is refused; --string keeps any text as a string
    ("true" the text). Without -r the name goes to the IronflowConfig that
    already defines it, a new name to `app`."""
    validate_name(name)
    raw = read_value(value, from_file, prompt=f"Value for {name}", secret=False, allow_empty=as_string)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError("config values are text: the value is not UTF-8") from None
    parsed = text if as_string else json_or_string(text)
    api = session.environment(env)
    if not allow_unserved:
        require_served(api, env, f"config {name}")
    resource = definer_for(api, CONFIGS, env, name, resource)
    api.set_entries(CONFIGS, env, resource, {name: parsed})
    warn_if_shadowed(api, CONFIGS, env, resource, name)
    emit(
        session.output,
        {"name": name, "environment": env, "resource": resource, "value": parsed},
        lambda: (
            f"config {name} set to {shorten(compact(parsed))} in environment {env} "
            f"(IronflowConfig {resource})"
        ),
    )


@config_group.command("get")
@click.argument("name")
@env_option
@click.option(
    "-r",
    "--resource",
    default=None,
    metavar="NAME",
    help="read this resource (default: the one that defines NAME in the environment).",
)
@shared_options
@pass_session
def config_get(session: Session, name: str, env: str, resource: str | None) -> None:
    """Print NAME's value as pods see it (-o json/yaml: the JSON value itself)."""
    validate_name(name)
    api = session.environment(env)
    environment, by_name = environment_of(api.list(CONFIGS, env), CONFIGS)
    owner = resource if resource is not None else environment.owner(name)
    values = entries(by_name[owner], CONFIGS) if owner in by_name else {}
    if owner is None or name not in values:
        where = f"IronflowConfig {resource}" if resource else "any IronflowConfig"
        hint = did_you_mean(name, values if resource is not None else environment.owners)
        raise UserError(f"config {name} is not set in {where} of environment {env}{hint}")
    emit(session.output, values[name], lambda: config_string(values[name]))


@config_group.command("list")
@env_option
@click.option("-r", "--resource", default=None, metavar="NAME", help="only this resource (default: all).")
@shared_options
@pass_session
def config_list(session: Session, env: str, resource: str | None) -> None:
    """Names, values and state of the environment's configs."""
    api = session.environment(env)
    rows = []
    for obj in api.list(CONFIGS, env):
        if resource is not None and obj["metadata"]["name"] != resource:
            continue
        for name, value in sorted(entries(obj, CONFIGS).items()):
            fact = name_facts(obj, name)
            rows.append(
                {
                    "name": name,
                    "resource": obj["metadata"]["name"],
                    "value": value,
                    "state": fact.get("state", "Pending"),
                    "lastChanged": fact.get("lastChanged", ""),
                }
            )
    rows.sort(key=lambda r: (r["name"], r["resource"]))

    def human() -> str:
        if not rows:
            return f"no configs in environment {env}"
        return table(
            ["NAME", "RESOURCE", "VALUE", "STATE"],
            [[r["name"], r["resource"], shorten(compact(r["value"])), r["state"]] for r in rows],
        )

    emit(session.output, rows, human)


@config_group.command("unset")
@click.argument("name")
@env_option
@resource_option
@shared_options
@pass_session
def config_unset(session: Session, name: str, env: str, resource: str | None) -> None:
    """Remove NAME from the IronflowConfig."""
    unset_name(session, CONFIGS, "config", name, env, resource)
