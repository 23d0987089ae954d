"""A dotenv file -> NAME/value pairs, for `ironflow secret seal -f app.env`.

The dialect is the common one (docker compose, python-dotenv): `NAME=value` lines, `export `
allowed in front, `#` comments and blank lines ignored, single quotes literal, double quotes
with `\\n`, `\\t`, `\\"` and `\\\\` escapes (and spanning lines), and an unquoted value trimmed and
cut at ` #`. No variable expansion: a sealed value must be exactly what the file says.
Errors name the line number, never the line: the line holds a secret.
"""

from __future__ import annotations

from typing import Final

from ironflow.core.names import InvalidName, validate_name

_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


class DotenvError(ValueError):
    """The file cannot be read as dotenv; the message gives the line number and never its text."""


def _double_quoted(text: str, start_line: int, lines: list[str], index: int) -> tuple[str, int]:
    """Parse after an opening '"'; may consume following lines. Returns (value, last line index)."""
    out: list[str] = []
    buffer, i, line_no = text, 0, index
    while True:
        while i < len(buffer):
            ch = buffer[i]
            if ch == "\\" and i + 1 < len(buffer) and buffer[i + 1] in _ESCAPES:
                out.append(_ESCAPES[buffer[i + 1]])
                i += 2
                continue
            if ch == '"':
                rest = buffer[i + 1 :].strip()
                if rest and not rest.startswith("#"):
                    raise DotenvError(f"line {start_line}: unexpected text after the closing quote")
                return "".join(out), line_no
            out.append(ch)
            i += 1
        line_no += 1
        if line_no >= len(lines):
            raise DotenvError(f"line {start_line}: the double quote is never closed")
        out.append("\n")
        buffer, i = lines[line_no], 0


def _single_quoted(text: str, start_line: int) -> str:
    end = text.find("'")
    if end < 0:
        raise DotenvError(f"line {start_line}: the single quote is never closed")
    rest = text[end + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise DotenvError(f"line {start_line}: unexpected text after the closing quote")
    return text[:end]


def _unquoted(text: str) -> str:
    cut = text.find(" #")
    return (text[:cut] if cut >= 0 else text).strip()


def parse_dotenv(text: str) -> dict[str, str]:
    """NAME -> value in file order; a NAME given twice is refused (which one was meant?)."""
    lines = text.splitlines()
    values: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line_no = index + 1
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, eq, rest = stripped.partition("=")
        name = name.strip()
        if not eq:
            raise DotenvError(f"line {line_no}: expected NAME=value")
        try:
            validate_name(name)
        except InvalidName as exc:
            raise DotenvError(f"line {line_no}: {exc}") from None
        rest = rest.lstrip()
        if rest.startswith('"'):
            value, index = _double_quoted(rest[1:], line_no, lines, index)
        elif rest.startswith("'"):
            value = _single_quoted(rest[1:], line_no)
        else:
            value = _unquoted(rest)
        if name in values:
            raise DotenvError(f"line {line_no}: {name} is defined twice")
        values[name] = value
        index += 1
    return values
