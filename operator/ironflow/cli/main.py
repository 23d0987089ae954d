"""The `ironflow` command (also `kubectl ironflow`): the root group and the error boundary.

Every library error a user can cause is turned into a one-line reason and an exit code here
(cli.errors), in one place, so no command can leak a traceback for a user mistake.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ironflow import __version__
from ironflow.cli.completion import completion
from ironflow.cli.configs import config_group
from ironflow.cli.errors import translate
from ironflow.cli.keys import key_group
from ironflow.cli.output import emit
from ironflow.cli.promote import promote
from ironflow.cli.secrets import secret_group
from ironflow.cli.session import Session, pass_session, shared_options
from ironflow.cli.status import status
from ironflow.cli.trust import trust_group
from ironflow.cli.validate import validate
from ironflow.core.keyring import MASTER_KEY_FIELD, MASTER_KEY_SECRET, generate_master_key


class IronflowGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from None


@click.group(cls=IronflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@shared_options
@click.version_option(version=__version__, prog_name="ironflow")
def cli() -> None:
    """Sealed secrets and plaintext configs per environment (namespace), for the Ironflow operator.

    Exit codes: 0 ok, 1 user error, 2 usage error, 3 cluster not available, 4 `status` found
    something that needs attention.
    """


@cli.command("keygen")
@shared_options
@pass_session
def keygen(session: Session) -> None:
    """Print a new master key (64 hex characters) for the ironflow-master-key Secret."""
    key = generate_master_key()
    emit(session.output, {"masterKey": key}, lambda: key)
    if session.output == "text" and sys.stdout.isatty():
        click.echo(
            f"store it with: kubectl -n ironflow-system create secret generic {MASTER_KEY_SECRET} "
            f"--from-literal={MASTER_KEY_FIELD}=<the key>",
            err=True,
        )


cli.add_command(secret_group)
cli.add_command(config_group)
cli.add_command(promote)
cli.add_command(status)
cli.add_command(trust_group)
cli.add_command(key_group)
cli.add_command(completion)
cli.add_command(validate)


def main(argv: list[str] | None = None) -> None:
    name = Path(sys.argv[0]).name
    prog = "kubectl ironflow" if name.startswith("kubectl-") else "ironflow"
    cli.main(args=argv, prog_name=prog)
