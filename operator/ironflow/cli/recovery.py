"""`ironflow secret unseal --master-key-file FILE`: disaster recovery, offline.

For the day the cluster is gone and only the backed-up master key and the sealed strings (from
Git) are left. No cluster is contacted. The plaintext goes to stdout, which must not be a
terminal unless the user says `--yes`: a value on screen ends up in scrollback and screenshots.
"""

from __future__ import annotations

import sys

import click

from ironflow.cli.errors import UserError
from ironflow.cli.master_key_file import MASTER_KEY_FILE_OPTION, read_master_key_file
from ironflow.cli.output import warn
from ironflow.cli.session import environment_option
from ironflow.core.crypto import UnsealError, unseal
from ironflow.core.names import validate_name, validate_namespace


def to_terminal() -> bool:
    return sys.stdout.isatty()


@click.command("unseal")
@click.argument("name")
@click.argument("sealed", metavar="SEALED|-")
@environment_option("the environment it was sealed for.", envvar=False, required=True)
@MASTER_KEY_FILE_OPTION
@click.option("--yes", is_flag=True, help="print the plaintext even to a terminal.")
def secret_unseal(name: str, sealed: str, env: str, master_key_file: str, yes: bool) -> None:
    """Disaster recovery: unseal SEALED (or - for stdin) for NAME in NS with the master key, offline."""
    validate_namespace(env)
    validate_name(name)
    if to_terminal() and not yes:
        raise UserError("refusing to print a plaintext to a terminal: redirect stdout, or pass --yes")
    text = sys.stdin.read().strip() if sealed == "-" else sealed.strip()
    keyring = read_master_key_file(master_key_file)
    try:
        value = unseal(keyring, env, name, text, allow_dev=False)
    except UnsealError as exc:
        raise UserError(exc.message) from None
    warn(f"unsealed {name} for environment {env} offline; handle the output as the secret it is")
    sys.stdout.buffer.write(value)
    sys.stdout.flush()
