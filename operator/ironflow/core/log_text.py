"""Text from outside made safe for one log line: control characters shown, never obeyed.

Request data (a namespace, a pod name, an annotation) reaches log messages. A newline in it would
start a line that looks like the operator's own (a forged `INFO admitted ...`); a carriage return
or an ANSI escape could hide or rewrite what a terminal shows. Every control character (C0, DEL,
C1) and the Unicode line and paragraph separators are written as Python-style escapes instead,
so one log call is always one line, in text and in JSON format alike. The logger applies this to
every message (controller/logs.py); the webhook also applies it to its own fields.
"""

from __future__ import annotations

import re
from typing import Final

_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_control(text: str) -> str:
    """`text` with every control or line-breaking character escaped (\\n, \\x1b, \\u2028...)."""
    return _CONTROL.sub(_escape, text)
