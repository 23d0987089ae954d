"""Which JSON values a config may hold: the rule shared by the CLI, the operator and the CRD policy.

The API server enforces the same bounds through the ValidatingAdmissionPolicy that
`hack/gen-crds.py` writes (it imports these constants), but the operator checks them again:
an object may predate the policy or come through a CRD installed without it, and one hostile
value must turn into one refused name, never into a crash or a silently altered value.

- `null` is refused: the API server would drop it from the map without a word (docs/reference.md).
- Nesting is bounded (`MAX_VALUE_DEPTH`): deep documents crash JSON decoders that recurse, and
  no configuration needs them.
- Numbers must be exact in every JSON reader: integers beyond +/-2^53 (and any number of that
  magnitude) are silently rounded by JavaScript, Go's float decoding and the API server itself
  (2**64 was stored as 18446744073709552000), so they are refused; store such a number as a
  string. NaN and Infinity are not JSON at all.

Messages name the rule, never the value: configs are readable, but the message also lands in
Events and logs, where only names belong.
"""

from __future__ import annotations

import math
from typing import Any, Final

MAX_VALUE_DEPTH: Final = 32
MAX_SAFE_INTEGER: Final = 2**53 - 1


def value_problem(value: Any) -> str | None:
    """Why `value` cannot be a config value, or None when it can. Never recurses."""
    if value is None:
        return "null is not a config value (the API server would drop it); unset the name instead"
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, bool) or node is None:
            continue
        if isinstance(node, str):
            if not _is_unicode(node):
                return "text must be valid Unicode (a lone surrogate is not)"
            continue
        if isinstance(node, int | float):
            if isinstance(node, float) and math.isnan(node):
                return "NaN is not a JSON number"
            if isinstance(node, float) and math.isinf(node):
                return "the number is too large for JSON (beyond the range of a double)"
            if abs(node) > MAX_SAFE_INTEGER:
                return (f"numbers beyond +/-{MAX_SAFE_INTEGER} (2^53-1) are not exact in every JSON "
                        "reader; store such a number as a string")
            continue
        if isinstance(node, dict | list):
            if level + 1 > MAX_VALUE_DEPTH:
                return f"the value is nested deeper than {MAX_VALUE_DEPTH} levels"
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
            continue
        return f"a {type(node).__name__} is not a JSON value"
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
