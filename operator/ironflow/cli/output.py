"""Human output by default, `-o json|yaml` for scripts: the same data, three renderings.

Commands build one plain data structure and a function rendering it for people; scripts get the
data itself, so adding a column for humans never breaks a script. Data and human text go to
stdout, warnings and hints to stderr, so `-o json | jq` always sees clean JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

import click
import yaml

FORMATS: Final = ("text", "json", "yaml")


def emit(output: str, data: Any, human: Callable[[], str]) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n"))
    else:
        text = human()
        if text:
            click.echo(text)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
