"""Writes the generated tables of docs/reference.md and charts/ironflow/README.md.

Why generated: the chart's values and the custom resources' fields already have one source of
truth each (charts/ironflow/values.schema.json with values.yaml for defaults; crds/, itself
written by hack/gen-crds.py). Tables typed by hand next to them drift with the first new value.
Each table sits between two markers; everything outside the markers is written by hand and kept.
`python hack/gen-reference.py` rewrites the tables, `--check` fails when one is stale
(tests/unit/test_reference_tables.py runs the same comparison).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "ironflow"
SCHEMA = CHART / "values.schema.json"
VALUES = CHART / "values.yaml"
CRDS = {"ironflowsecret": ROOT / "crds" / "ironflow.io_ironflowsecrets.yaml",
        "ironflowconfig": ROOT / "crds" / "ironflow.io_ironflowconfigs.yaml"}
# file -> the blocks it carries
TARGETS = {
    ROOT / "docs" / "reference.md": ["ironflowsecret-fields", "ironflowconfig-fields", "chart-values"],
    CHART / "README.md": ["chart-values"],
}


def begin(name: str) -> str:
    return f"<!-- generated:{name} begin (hack/gen-reference.py; edit the source, then make reference) -->"


def end(name: str) -> str:
    return f"<!-- generated:{name} end -->"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"list of {_type(node.get('items') or {})}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        inner = node["additionalProperties"]
        return f"map of {_type(inner) if inner.get('type') else 'any JSON'}"
    if kind is None and node.get("x-kubernetes-preserve-unknown-fields"):
        return "any JSON"
    return str(kind or "any")


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    return "`" + json.dumps(value, separators=(", ", ": ")).replace("|", "\\|") + "`"


def _leaves(node: dict[str, Any], path: list[str], values: Any) -> Iterator[tuple[str, dict[str, Any], Any]]:
    props = node.get("properties")
    if props:
        for key, child in props.items():
            inner = values.get(key) if isinstance(values, dict) else None
            yield from _leaves(child, [*path, key], inner)
    elif path:
        yield ".".join(path), node, values


def values_table(schema: dict[str, Any], values: dict[str, Any]) -> str:
    """One row per value the chart reads: the schema's type and description, values.yaml's default."""
    rows = ["| value | type | default | description |", "| --- | --- | --- | --- |"]
    for path, node, default in _leaves(schema, [], values):
        allowed = f" One of: {', '.join(node['enum'])}." if "enum" in node else ""
        text = node.get("description", "") + allowed
        rows.append(f"| `{path}` | {_type(node)} | {_default(default)} | {_cell(text)} |")
    return "\n".join(rows)


def _limits(node: dict[str, Any]) -> str:
    found = []
    if "enum" in node:
        found.append("one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    for key, text in (("maxProperties", "at most {} names"), ("maxLength", "at most {} characters"),
                      ("minLength", "at least {} characters")):
        if key in node:
            found.append(text.format(f"{node[key]:,}"))
    if node.get("x-kubernetes-validations"):
        found.append("checked by the API server: " + "; ".join(
            _cell(rule["message"]) for rule in node["x-kubernetes-validations"]))
    return "; ".join(found)


def _fields(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for key, child in (node.get("properties") or {}).items():
        yield from _fields(child, f"{path}.{key}")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties"):
        for key, child in extra["properties"].items():
            yield from _fields(child, f"{path}.NAME.{key}")
    items = node.get("items")
    if isinstance(items, dict) and items.get("properties"):
        for key, child in items["properties"].items():
            yield from _fields(child, f"{path}[].{key}")


def crd_table(crd: dict[str, Any]) -> str:
    """Every spec and status field of the CRD's one version, as the API server's schema has it."""
    (version,) = crd["spec"]["versions"]
    schema = version["schema"]["openAPIV3Schema"]["properties"]
    rows = ["| field | type | description | limits |", "| --- | --- | --- | --- |"]
    for part in ("spec", "status"):
        for path, node in _fields(schema[part], part):
            text = _cell(node.get("description", ""))
            rows.append(f"| `{path}` | {_type(node)} | {text} | {_limits(node)} |")
    return "\n".join(rows)


def blocks() -> dict[str, str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8")) or {}
    out = {"chart-values": values_table(schema, values)}
    for kind, path in CRDS.items():
        out[f"{kind}-fields"] = crd_table(yaml.safe_load(path.read_text(encoding="utf-8")))
    return out


def splice(text: str, name: str, body: str) -> str:
    """`text` with the block `name` replaced by `body`; the markers must be there, once each."""
    pattern = re.compile(re.escape(begin(name)) + r".*?" + re.escape(end(name)), re.S)
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"expected one {begin(name)} ... {end(name)} block")
    return pattern.sub(lambda _: f"{begin(name)}\n{body}\n{end(name)}", text)


def rendered() -> dict[Path, str]:
    """Each target file as it should be, from the current sources."""
    tables = blocks()
    out = {}
    for path, names in TARGETS.items():
        text = path.read_text(encoding="utf-8")
        for name in names:
            text = splice(text, name, tables[name])
        out[path] = text
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in rendered().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not check:
                path.write_text(text, encoding="utf-8")
    if check and stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"stale generated tables in {names}: run make reference", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
