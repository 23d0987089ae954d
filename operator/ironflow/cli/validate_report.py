"""What `ironflow validate` prints for people: one line per file, then each problem, then totals.

Per file, because overlays are per environment: "overlays/prod: not checked (no key given for
prod)" next to "overlays/dev: 3 ok" says at a glance which environments were checked at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ironflow.cli.output import table


def _file_result(rows: Sequence[Mapping[str, Any]]) -> str:
    counts = Counter(r["severity"] for r in rows)
    parts = [f"{counts[s]} {label}" for s, label in
             (("ok", "ok"), ("error", "error(s)"), ("warning", "warning(s)"), ("skipped", "not checked"))
             if counts[s]]
    skipped = [r for r in rows if r["severity"] == "skipped"]
    if skipped:
        parts[-1] += f" ({skipped[0]['message'].removeprefix('not checked: ').split(';')[0]})"
    return ", ".join(parts)


def human_report(rows: Sequence[Mapping[str, Any]]) -> str:
    by_file: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        by_file.setdefault((r["file"], r["namespace"]), []).append(r)
    lines = []
    if by_file:
        lines.append(table(["FILE", "ENVIRONMENT", "RESULT"],
                           [[f, ns or "-", _file_result(rs)] for (f, ns), rs in by_file.items()]))
    problems = [r for r in rows if r["severity"] in ("error", "warning")]
    if problems:
        columns = ("severity", "file", "namespace", "resource", "name", "message")
        lines += ["", table([c.upper() for c in columns], [[r[c] for c in columns] for r in problems])]
    counts = Counter(r["severity"] for r in rows)
    checked = len(rows) - counts["skipped"]
    summary = f"{checked} sealed value(s) checked, {counts['error']} error(s)"
    if counts["skipped"]:
        summary += f", {counts['skipped']} not checked (no key for their environment)"
    lines.append(summary)
    return "\n".join(lines)
