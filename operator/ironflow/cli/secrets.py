"""`ironflow secret ...`: seal on this machine, write only the sealed string, never show a value."""

from __future__ import annotations

from typing import Any

import click

from ironflow.cli import sealing, trust
from ironflow.cli.environments import definer_for, unset_name, warn_if_shadowed
from ironflow.cli.errors import UserError, redact
from ironflow.cli.output import emit, table, warn
from ironflow.cli.recovery import secret_unseal
from ironflow.cli.reseal import secret_reseal
from ironflow.cli.seal_files import seal_files
from ironflow.cli.served import unserved_hint
from ironflow.cli.session import Session, env_option, pass_session, resource_option, shared_options
from ironflow.cli.value_input import read_value
from ironflow.core.crypto import (
    DEV_PREFIX,
    MalformedSealedValue,
    UnknownFormatVersion,
    is_dev_form,
    parse_sealed,
)
from ironflow.core.names import validate_name, validate_namespace
from ironflow.core.sealing_key import SEALING_KEY_CONFIGMAP
from ironflow.k8s.sync_errors import ApiError
from ironflow.k8s.sync_resources import SECRETS, entries, name_facts

EXPLICIT_SOURCES = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


@click.group("secret")
def secret_group() -> None:
    """Sealed secrets: write-only values, one environment (namespace) at a time."""


def _value_options(func: Any) -> Any:
    func = click.option("--allow-empty", is_flag=True, help="accept an empty value.")(func)
    func = click.option(
        "--from-file",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="read the value from FILE, byte for byte.",
    )(func)
    func = click.argument("value", required=False, metavar="[VALUE|-]")(func)
    return click.argument("name")(func)


def _trust_options(func: Any) -> Any:
    func = click.option(
        "--expect-signer",
        envvar=trust.EXPECT_ENV,
        metavar="ID",
        help=f"trust only this operator signing key id (or ${trust.EXPECT_ENV}); for CI.",
    )(func)
    return click.option(
        "--dev",
        is_flag=True,
        help="development mode only: store the value in plaintext (dev form); never implied.",
    )(func)


def _published(session: Session, env: str, expect: str | None, *, dev: bool = False) -> sealing.SealingKey:
    """The environment's key, but only if its signature verifies and its signer is trusted."""
    api = session.environment(env)
    configmap = api.get_configmap(env, SEALING_KEY_CONFIGMAP)
    if configmap is None:
        raise sealing.no_key_published(env, unserved_hint(api, env))
    key = sealing.from_configmap(configmap, env, dev=dev)
    if key.verified is not None:
        trust.require_trusted(session, key.verified, key.source, expect)
    return key


def _key(
    session: Session, env: str, public_key: str | None, *, dev: bool, expect: str | None, online: bool
) -> sealing.SealingKey:
    if dev and public_key is not None:
        raise click.UsageError("--dev and --public-key exclude each other: a dev-form value is not sealed")
    if public_key is None:
        return _published(session, env, expect, dev=dev)
    key = sealing.from_file(public_key, env)
    if online:  # the cluster is reachable: a stale file must not seal for a key nobody publishes
        published = _published(session, env, expect)
        if key.kid != published.kid:
            raise UserError(
                f"{key.source} holds key id {key.kid} but environment {env} publishes key id "
                f"{published.kid}: refresh it with "
                f"`ironflow secret public-key --env {env} -o yaml > {public_key}`"
            )
        return key
    if key.verified is not None and expect:
        trust.require_trusted(session, key.verified, key.source, expect)
    return key


def _sealed(
    session: Session,
    name: str,
    env: str,
    public_key: str | None,
    value: str | None,
    from_file: str | None,
    allow_empty: bool,
    *,
    dev: bool,
    expect: str | None,
    online: bool,
) -> tuple[str, sealing.SealingKey]:
    validate_name(name)
    validate_namespace(env)
    # before the value is typed: fail early, not after
    key = _key(session, env, public_key, dev=dev, expect=expect, online=online)
    plaintext = read_value(value, from_file, prompt=f"Value for {name}", secret=True, allow_empty=allow_empty)
    return sealing.seal_for(key, env, name, plaintext), key


@secret_group.command("set")
@_value_options
@env_option
@resource_option
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="seal for the key in FILE; refused unless it is the key the environment publishes.",
)
@_trust_options
@shared_options
@pass_session
def secret_set(
    session: Session,
    name: str,
    value: str | None,
    from_file: str | None,
    allow_empty: bool,
    env: str,
    resource: str | None,
    public_key: str | None,
    dev: bool,
    expect_signer: str | None,
) -> None:
    """Seal VALUE for NAME in the environment and write it into the IronflowSecret.

    A VALUE of - reads stdin (a hidden prompt at a terminal); --from-file reads a file.
    Sealing happens here, for the operator's signed key only: only the sealed string is sent.
    Without -r the name goes to the IronflowSecret that already defines it, a new name to `app`.
    """
    validate_name(name)
    resource = definer_for(session.environment(env), SECRETS, env, name, resource)
    sealed, key = _sealed(
        session,
        name,
        env,
        public_key,
        value,
        from_file,
        allow_empty,
        dev=dev,
        expect=expect_signer,
        online=True,
    )
    if key.mode == "dev":
        warn(sealing.DEV_WARNING.format(env=env, resource=resource))
    api = session.environment(env)
    try:
        api.set_entries(SECRETS, env, resource, {name: sealed})
    except ApiError as exc:
        exc.message = redact(exc.message, [sealed, sealed.removeprefix(DEV_PREFIX)])
        raise
    warn_if_shadowed(api, SECRETS, env, resource, name)
    result = {"name": name, "environment": env, "resource": resource, "mode": key.mode, "keyId": key.kid}
    sealed_for = f"sealed for key id {key.kid}" if key.kid else "development mode, plaintext"
    emit(
        session.output,
        result,
        lambda: f"secret {name} set in environment {env} (IronflowSecret {resource}, {sealed_for})",
    )


@secret_group.command("seal")
@click.option("--allow-empty", is_flag=True, help="accept an empty value.")
@click.option(
    "--from-file", type=click.Path(dir_okay=False), metavar="FILE", help="read the value from FILE."
)
@click.argument("name", required=False)
@click.argument("value", required=False, metavar="[VALUE|-]")
@click.option(
    "-f",
    "--filename",
    metavar="FILE|-",
    help="seal a Secret manifest (data and stringData) or a dotenv file into an IronflowSecret manifest.",
)
@click.option(
    "--merge-into",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="with -f: add or replace the names in the IronflowSecret manifest FILE instead of printing.",
)
@click.option(
    "-r",
    "--resource",
    default=None,
    metavar="NAME",
    help="with -f: name of the IronflowSecret (dotenv: default app).",
)
@env_option
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="seal offline for the key in FILE (no cluster contacted; the key id is printed to stderr).",
)
@_trust_options
@shared_options
@pass_session
def secret_seal(
    session: Session,
    name: str | None,
    value: str | None,
    from_file: str | None,
    allow_empty: bool,
    filename: str | None,
    merge_into: str | None,
    resource: str | None,
    env: str,
    public_key: str | None,
    dev: bool,
    expect_signer: str | None,
) -> None:
    """Print a sealed string for NAME in the environment (for GitOps files); writes nothing.

    With -f FILE (or - for stdin): a Secret manifest or dotenv file in, an IronflowSecret
    manifest out (same name, namespace, type and labels; -o json for JSON).
    """
    if filename is not None:
        if name is not None or value is not None or from_file is not None:
            raise click.UsageError("-f seals a whole file: give no NAME, VALUE or --from-file with it")
        explicit = click.get_current_context().get_parameter_source("env") in EXPLICIT_SOURCES
        seal_files(
            session,
            filename,
            merge_into,
            env or None,
            explicit,
            lambda ns: _key(session, ns, public_key, dev=dev, expect=expect_signer, online=False),
            resource,
        )
        return
    if name is None:
        raise click.UsageError("missing NAME (or -f FILE to seal a whole manifest)")
    if merge_into is not None or resource is not None:
        raise click.UsageError("--merge-into and -r go with -f FILE")
    sealed, key = _sealed(
        session,
        name,
        env,
        public_key,
        value,
        from_file,
        allow_empty,
        dev=dev,
        expect=expect_signer,
        online=False,
    )
    if key.mode == "dev":
        warn("development mode (--dev): the printed dev form holds the value in plaintext")
    elif public_key is not None:
        warn(f"sealed offline for key id {key.kid} from {key.source}; not checked against the cluster")
    result = {"name": name, "environment": env, "keyId": key.kid, "sealed": sealed}
    emit(session.output, result, lambda: sealed)


@secret_group.command("public-key")
@env_option
@click.option(
    "--expect-signer",
    envvar=trust.EXPECT_ENV,
    metavar="ID",
    help=f"trust only this operator signing key id (or ${trust.EXPECT_ENV}).",
)
@shared_options
@pass_session
def secret_public_key(session: Session, env: str, expect_signer: str | None) -> None:
    """Print the environment's public sealing key, for `seal --public-key FILE` offline.

    Only a key whose signature and signer check out is printed; -o yaml/json keeps the signed
    publication, so an offline seal can check it was made for this environment.
    """
    configmap = session.environment(env).get_configmap(env, SEALING_KEY_CONFIGMAP)
    if configmap is not None and (configmap.get("data") or {}).get("mode") == "dev":
        raise UserError(
            f"ConfigMap {SEALING_KEY_CONFIGMAP} in {env} says development mode (no master key): "
            "there is no public key to export"
        )
    key = _published(session, env, expect_signer)
    exported = key.export()
    emit(session.output, exported, lambda: exported["publicKey"])


def _key_id(sealed: object) -> str:
    if not isinstance(sealed, str):
        return "invalid"
    if is_dev_form(sealed):
        return "dev"
    try:
        return parse_sealed(sealed).kid
    except (MalformedSealedValue, UnknownFormatVersion):
        return "invalid"


def _rows(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for obj in objs:
        for name, sealed in sorted(entries(obj, SECRETS).items()):
            fact = name_facts(obj, name)
            rows.append(
                {
                    "name": name,
                    "resource": obj["metadata"]["name"],
                    "keyId": _key_id(sealed),
                    "state": fact.get("state", "Pending"),
                    "reason": fact.get("reason", ""),
                    "message": fact.get("message", ""),
                    "lastChanged": fact.get("lastChanged", ""),
                }
            )
    return sorted(rows, key=lambda r: (r["name"], r["resource"]))


@secret_group.command("list")
@env_option
@click.option("-r", "--resource", default=None, metavar="NAME", help="only this resource (default: all).")
@shared_options
@pass_session
def secret_list(session: Session, env: str, resource: str | None) -> None:
    """Names, key ids, state, the reason of a failed name and last change; never values."""
    api = session.environment(env)
    objs = [o for o in api.list(SECRETS, env) if resource is None or o["metadata"]["name"] == resource]
    rows = _rows(objs)

    def human() -> str:
        if not rows:
            return f"no secrets in environment {env}"
        return table(
            ["NAME", "RESOURCE", "KEY ID", "STATE", "REASON", "LAST CHANGED"],
            [
                [r["name"], r["resource"], r["keyId"], r["state"], r["reason"] or "-",
                 r["lastChanged"] or "-"]
                for r in rows
            ],
        )

    emit(session.output, rows, human)


@secret_group.command("unset")
@click.argument("name")
@env_option
@resource_option
@shared_options
@pass_session
def secret_unset(session: Session, name: str, env: str, resource: str | None) -> None:
    """Remove NAME from the IronflowSecret (the projected Secret follows)."""
    unset_name(session, SECRETS, "secret", name, env, resource)


secret_group.add_command(secret_unseal)
secret_group.add_command(secret_reseal)
