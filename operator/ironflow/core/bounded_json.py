"""JSON decoding that no body can crash: nesting past a bound is cut off instead of recursing.

Python's JSON decoder recurses once per nesting level and raises RecursionError near 1000 levels,
while the API server stores documents nested up to 10 000 levels. One such object (a config value
written through a CRD without Ironflow's admission policy) used to stop the operator's watch for
good, and the CLI printed a traceback. Every body the operator and the CLI read from the API
server goes through `loads`: a subtree deeper than `MAX_DECODE_DEPTH` becomes the string
`TRUNCATED`, so the rest of the object (its metadata, its other values) stays readable, and the
value that held it is refused by validation (far deeper than `config_values.MAX_VALUE_DEPTH`).

Nothing here recurses: the fallback parser and the depth walk keep explicit stacks.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

MAX_DECODE_DEPTH: Final = 100
TRUNCATED: Final = "\x00ironflow: nested too deep\x00"

_TOKEN = re.compile(
    r'\s*(?:(?P<open>[\[{])|(?P<close>[\]}])|(?P<comma>,)|(?P<colon>:)'
    r'|(?P<string>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")'
    r'|(?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?)'
    r'|(?P<literal>true|false|null))'
)
_LITERALS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def loads(data: str | bytes | bytearray, max_depth: int = MAX_DECODE_DEPTH) -> Any:
    """Like json.loads (strict: no NaN/Infinity), but never raises RecursionError.

    Raises ValueError for text that is not JSON. Subtrees nested deeper than `max_depth` are
    replaced by `TRUNCATED`."""
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        return _parse_iteratively(text, max_depth)
    if text.count("{") + text.count("[") <= max_depth:
        # No deeper than the brackets it holds: nothing to cut, and counting them is ~50 times
        # cheaper than the walk, which every watch event of the operator used to pay.
        return value
    return truncated(value, max_depth)


def depth(value: Any) -> int:
    """Nesting depth: 0 for a scalar, 1 for a flat list or object, and so on."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def truncated(value: Any, max_depth: int = MAX_DECODE_DEPTH) -> Any:
    """`value` itself when it is within `max_depth`, else a copy with deeper subtrees cut off."""
    if depth(value) <= max_depth:
        return value
    root: list[Any] = [None]
    # (source node, container to fill, key or index in it, level of the source node)
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]
    while stack:
        node, parent, slot, level = stack.pop()
        if isinstance(node, dict | list) and level >= max_depth:
            parent[slot] = TRUNCATED
        elif isinstance(node, dict):
            copy: dict[str, Any] = dict.fromkeys(node)
            parent[slot] = copy
            stack.extend((child, copy, key, level + 1) for key, child in node.items())
        elif isinstance(node, list):
            items: list[Any] = [None] * len(node)
            parent[slot] = items
            stack.extend((child, items, index, level + 1) for index, child in enumerate(node))
        else:
            parent[slot] = node
    return root[0]


class _Frame:
    """One open array or object of the fallback parser."""

    __slots__ = ("container", "kept", "key")

    def __init__(self, container: Any, kept: bool) -> None:
        self.container, self.kept = container, kept
        self.key: str | None = None


def _parse_iteratively(text: str, max_depth: int) -> Any:
    """A small JSON parser with an explicit stack, used only for documents too deep for json.

    It checks tokens strictly but separators loosely: it exists to read what the API server
    stored (valid JSON) without recursing, and what it reads past the bound is dropped anyway."""
    stack: list[_Frame] = []
    result: list[Any] = []

    def place(value: Any) -> None:
        if not stack:
            result.append(value)
            return
        frame = stack[-1]
        if not frame.kept:
            return
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif frame.key is None:
            if not isinstance(value, str):
                raise ValueError("JSON object keys must be strings")
            frame.key = value
        else:
            frame.container[frame.key] = value
            frame.key = None

    pos = 0
    while (match := _TOKEN.match(text, pos)) is not None:
        pos = match.end()
        kind = match.lastgroup
        if kind == "open":
            parent_kept = not stack or stack[-1].kept
            kept = parent_kept and len(stack) < max_depth
            container: Any = ([] if match.group("open") == "[" else {}) if kept else None
            if kept:
                place(container)
            elif parent_kept:
                place(TRUNCATED)
            stack.append(_Frame(container, kept))
        elif kind == "close":
            if not stack:
                raise ValueError(f"unbalanced bracket at character {pos}")
            stack.pop()
        elif kind in ("string", "number"):
            place(json.loads(match.group(kind)))
        elif kind == "literal":
            place(_LITERALS[match.group("literal")])
    if text[pos:].strip() or stack or len(result) != 1:
        raise ValueError(f"not a JSON document (at character {pos})")
    return result[0]
