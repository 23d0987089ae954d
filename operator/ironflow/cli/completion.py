"""`ironflow completion bash|zsh|fish`: the shell script that completes ironflow's commands.

Click already knows how to complete every command and option; this prints its script so users
can `source <(ironflow completion bash)` the way they do for kubectl, instead of learning the
`_IRONFLOW_COMPLETE=bash_source ironflow` incantation.
"""

from __future__ import annotations

from typing import Final

import click
from click.shell_completion import get_completion_class

SHELLS: Final = ("bash", "zsh", "fish")
COMPLETE_VAR: Final = "_IRONFLOW_COMPLETE"  # what click derives from the program name `ironflow`


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash: source <(ironflow completion bash)     (or save it in ~/.bash_completion.d/)
    zsh:  source <(ironflow completion zsh)      (after compinit)
    fish: ironflow completion fish > ~/.config/fish/completions/ironflow.fish
    """
    root = click.get_current_context().find_root()
    assert isinstance(root.command, click.Command)
    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(root.command, {}, "ironflow", COMPLETE_VAR).source())
