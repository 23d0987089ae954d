"""`ironflow key rotate | retire KEYID | backup | ids`: the master key's lifecycle, for cluster admins.

Every change is one conditional write of the master-key Secret (its resourceVersion): if anyone
edited it meanwhile, nothing is written and the command says to run it again, so a key can never
be lost to a race. No key is ever printed: only key ids and the signer id. `backup` writes the
Secret as a manifest to a file created with mode 0600, and to stdout only on request; `ids` reads
such a file offline and prints the ids, so a signer id can be checked without trusting a cluster.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Callable
from typing import Any

import click
import yaml

from ironflow.cli.errors import UserError
from ironflow.cli.master_key_file import MASTER_KEY_FILE_OPTION, read_master_key_file
from ironflow.cli.output import emit
from ironflow.cli.session import Session, pass_session, shared_options
from ironflow.cli.trust import DEFAULT_OPERATOR_NAMESPACE, OPERATOR_NAMESPACE_ENV
from ironflow.core.key_lifecycle import KeyChange, KeyChangeRefused, retire, rotate
from ironflow.core.keyring import MASTER_KEY_SECRET, MalformedMasterKey, generate_master_key
from ironflow.core.outcomes import sealed_key_id
from ironflow.k8s.sync_errors import Conflict, Forbidden, NotFound
from ironflow.k8s.sync_resources import SECRETS, entries
from ironflow.k8s.sync_secrets import read_secret, replace_secret


def _where(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--secret-name", default=MASTER_KEY_SECRET, show_default=True, metavar="NAME")(func)
    return click.option(
        "--operator-namespace",
        envvar=OPERATOR_NAMESPACE_ENV,
        default=DEFAULT_OPERATOR_NAMESPACE,
        show_default=True,
        metavar="NS",
        help=f"namespace of the master-key Secret (or ${OPERATOR_NAMESPACE_ENV}).",
    )(func)


def _read(session: Session, namespace: str, name: str) -> dict[str, Any]:
    try:
        return read_secret(session.api().client, namespace, name)
    except NotFound:
        raise UserError(
            f"no Secret {name} in {namespace}: create the master key first (docs/install.md)"
        ) from None


def _decoded(secret: dict[str, Any]) -> dict[str, bytes]:
    try:
        return {k: base64.b64decode(str(v), validate=True) for k, v in (secret.get("data") or {}).items()}
    except (binascii.Error, ValueError):
        raise UserError("the master-key Secret holds data that is not base64; fix it by hand") from None


def _write(session: Session, secret: dict[str, Any], change: KeyChange) -> None:
    meta = secret["metadata"]
    data = dict(secret.get("data") or {})
    data.update({k: base64.b64encode(v.encode("ascii")).decode("ascii") for k, v in change.data.items()})
    if not change.data.get("IRONFLOW_PREVIOUS_KEYS"):
        data.pop("IRONFLOW_PREVIOUS_KEYS", None)
    body = {**secret, "data": data, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    body.pop("stringData", None)
    try:
        replace_secret(session.api().client, body)
    except Conflict:
        raise UserError(
            f"Secret {meta['name']} changed while this ran; nothing was changed: run the command again"
        ) from None


def _change(
    session: Session, namespace: str, name: str, make: Callable[[dict[str, bytes]], KeyChange]
) -> KeyChange:
    secret = _read(session, namespace, name)
    try:
        change = make(_decoded(secret))
    except (KeyChangeRefused, MalformedMasterKey) as exc:
        raise UserError(str(exc)) from None
    _write(session, secret, change)
    return change


def _result(change: KeyChange) -> dict[str, Any]:
    return {
        "keyId": change.new_kid,
        "signerId": change.signer_id,
        "previousKeyIds": list(change.previous_kids),
    }


@click.group("key")
def key_group() -> None:
    """The master key's lifecycle: rotate, retire an old key, back it up (cluster admins)."""


@key_group.command("rotate")
@_where
@shared_options
@pass_session
def key_rotate(session: Session, operator_namespace: str, secret_name: str) -> None:
    """Make a new master key; the current one stays accepted for unsealing (IRONFLOW_PREVIOUS_KEYS)."""
    change = _change(
        session, operator_namespace, secret_name, lambda data: rotate(data, generate_master_key())
    )
    result = {"oldKeyId": change.old_kid, **_result(change)}
    emit(
        session.output,
        result,
        lambda: (
            f"rotated the master key: key id {change.old_kid} -> {change.new_kid} "
            f"(signer id {change.signer_id}); {change.old_kid} stays accepted for unsealing until "
            f"`ironflow key retire {change.old_kid}`"
        ),
    )


def _needing(session: Session, kid: str) -> list[str]:
    try:
        objs = session.api().list(SECRETS, None)
    except Forbidden:
        raise UserError(
            "cannot list IronflowSecrets in every namespace: retiring a key needs that, to be sure no "
            "value still needs it"
        ) from None
    return sorted(
        f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}/{name}"
        for obj in objs
        for name, sealed in entries(obj, SECRETS).items()
        if isinstance(sealed, str) and sealed_key_id(sealed) == kid
    )


@key_group.command("retire")
@click.argument("kid", metavar="KEYID")
@_where
@shared_options
@pass_session
def key_retire(session: Session, kid: str, operator_namespace: str, secret_name: str) -> None:
    """Drop previous key KEYID, refused while any IronflowSecret in the cluster still needs it."""
    needing = _needing(session, kid.strip().lower())
    if needing:
        shown = ", ".join(needing[:5]) + (", ..." if len(needing) > 5 else "")
        raise UserError(
            f"{len(needing)} value(s) are still sealed for key id {kid} ({shown}): re-seal them first"
        )
    change = _change(session, operator_namespace, secret_name, lambda data: retire(data, kid.strip().lower()))
    emit(
        session.output,
        {"retired": kid, **_result(change)},
        lambda: (
            f"retired key id {kid}; the operator now accepts "
            f"{', '.join((change.new_kid, *change.previous_kids))}"
        ),
    )


@key_group.command("backup")
@click.option(
    "-f",
    "--file",
    "path",
    required=True,
    metavar="FILE|-",
    help="where to write the Secret manifest (created with mode 0600); - is stdout.",
)
@click.option("--force", is_flag=True, help="overwrite FILE if it exists.")
@click.option("--yes", is_flag=True, help="with -f -: write the key to a terminal anyway.")
@_where
@shared_options
@pass_session
def key_backup(
    session: Session, path: str, force: bool, yes: bool, operator_namespace: str, secret_name: str
) -> None:
    """Write the master-key Secret as a manifest (kubectl apply -f restores it)."""
    secret = _read(session, operator_namespace, secret_name)
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": operator_namespace},
        "type": secret.get("type") or "Opaque",
        "data": dict(secret.get("data") or {}),
    }
    text = yaml.safe_dump(manifest, sort_keys=False)
    if path == "-":
        if sys.stdout.isatty() and not yes:
            raise UserError("refusing to print the master key to a terminal: use -f FILE, or pass --yes")
        click.echo(text, nl=False)
        return
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise UserError(f"{path} exists: pass --force to overwrite it") from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    click.echo(
        f"wrote Secret {operator_namespace}/{secret_name} to {path} (mode 0600); keep it offline", err=True
    )


@key_group.command("ids")
@MASTER_KEY_FILE_OPTION
@shared_options
@pass_session
def key_ids(session: Session, master_key_file: str) -> None:
    """Offline: the key id and operator signer id of every key in FILE, to confirm a signer id
    out of band (the one users are asked to pin); no cluster is contacted, no key printed."""
    keyring = read_master_key_file(master_key_file)
    rows = [
        {"keyId": pair.kid, "signerId": signer.id, "current": index == 0}
        for index, (pair, signer) in enumerate(zip(keyring.all, keyring.signers, strict=True))
    ]
    emit(
        session.output,
        {"keys": rows},
        lambda: "\n".join(
            f"{'current ' if row['current'] else 'previous'}  key id {row['keyId']}  "
            f"signer id {row['signerId']}"
            for row in rows
        ),
    )
