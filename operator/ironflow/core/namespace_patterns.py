"""Which namespaces `--namespace` patterns serve: names or globs, `!name` to exclude.

One rule for every part that asks: the controller's discovery and drift watch, the re-seal
requests, and the webhook, which refuses declaring pods in a namespace nothing would project into.
"""

from __future__ import annotations

import fnmatch


def matches(patterns: tuple[str, ...], namespace: str) -> bool:
    """Served: any include matches (everything if there is none), and no `!` exclusion does."""
    if not patterns:
        return True
    includes = [p for p in patterns if not p.startswith("!")]
    excludes = [p[1:] for p in patterns if p.startswith("!")]
    included = not includes or any(fnmatch.fnmatchcase(namespace, p) for p in includes)
    return included and not any(fnmatch.fnmatchcase(namespace, p) for p in excludes)
