"""Where a value comes from: an argument, stdin (`-`), or a file; never echoed.

A value typed at a terminal is read with echo off (and asked twice, a typo in a secret is costly
to find). Piped stdin is read raw with one trailing newline removed, because `echo secret |`
and here-strings add one; a file is taken byte for byte, as `kubectl create secret
--from-file` does. An empty value is refused unless asked for: an empty pipe is far more often
a failed command upstream than an intended empty secret.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ironflow.cli.errors import UserError

STDIN = "-"


def strip_one_newline(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data


def read_value(
    value: str | None,
    from_file: str | None,
    *,
    prompt: str,
    secret: bool,
    allow_empty: bool = False,
) -> bytes:
    if value is not None and from_file is not None:
        raise click.UsageError("give the value either as VALUE (or -) or with --from-file, not both")
    if value is None and from_file is None:
        raise click.UsageError("missing the value: give VALUE, - to read it from stdin, or --from-file FILE")
    if from_file is not None:
        try:
            data = Path(from_file).read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read {from_file}: {exc.strerror or exc}") from None
        source = f"file {from_file}"
    elif value == STDIN:
        data, source = _read_stdin(prompt, secret), "stdin"
    else:
        assert value is not None
        data, source = os.fsencode(value), "the argument"
    if not data and not allow_empty:
        raise UserError(f"the value from {source} is empty; pass --allow-empty if that is intended")
    return data


def _read_stdin(prompt: str, secret: bool) -> bytes:
    """A secret is typed blind and twice; a config value is visible, so once is enough."""
    if sys.stdin.isatty():
        text: str = click.prompt(
            prompt, hide_input=secret, confirmation_prompt=secret, default="", show_default=False, err=True
        )
        return text.encode("utf-8")
    return strip_one_newline(sys.stdin.buffer.read())
