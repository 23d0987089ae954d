"""The operator's modules keep no process-wide mutable state: what a running operator holds lives on
its runtime (controller/state.py), built once at start-up and passed to what needs it.

Why a test over the source: a module-level dict or a `global` is invisible to the caller, outlives
the operator that filled it (a second operator in one process, a test, a restart in the same
process inherits it) and cannot be sharded. Allowed at module level: constants of immutable
types (strings, numbers, tuples, frozensets, read-only mappings), loggers, the Prometheus
registry with its metric objects, and UPPER_CASE tables declared `Final` that no scanned module
mutates (the webhook's nested shape of a pod).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "ironflow"
SCANNED = sorted([*PACKAGE.glob("controller/*.py"), *PACKAGE.glob("webhook/*.py"), PACKAGE / "metrics.py"])
# Modules whose state is removed where they are moved to (the webhook's start-up and options move
# into webhook/); an entry whose module is gone or clean fails below, so the list only shrinks.

MUTABLE_DISPLAYS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
MUTABLE_BUILTINS = {"list", "dict", "set", "bytearray"}
# Everything these modules make is mutable (containers, queues, locks, events, weak maps).
MUTABLE_MODULES = {"collections", "weakref", "asyncio", "queue", "threading"}
MUTATORS = {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "clear",
            "remove", "discard", "sort", "reverse"}


def _imported_from(tree: ast.Module) -> dict[str, str]:
    """Local name -> the module it comes from, for `from m import x` and `import m`."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                out[alias.asname or alias.name] = node.module.split(".")[0]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                out[alias.asname or alias.name.split(".")[0]] = alias.name.split(".")[0]
    return out


def _is_mutable(value: ast.expr | None, imports: dict[str, str]) -> bool:
    if isinstance(value, MUTABLE_DISPLAYS):
        return True
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Name):
        return func.id in MUTABLE_BUILTINS or imports.get(func.id) in MUTABLE_MODULES
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return imports.get(func.value.id) in MUTABLE_MODULES
    return False


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import, including those under a module-level if/try/with/for."""
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                yield from _module_level([n for n in inner if isinstance(n, ast.stmt)])
            if field == "handlers" and isinstance(inner, list):
                for handler in inner:
                    yield from _module_level(handler.body)


def _is_final(node: ast.stmt) -> bool:
    if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
        return False
    annotation = node.annotation.value if isinstance(node.annotation, ast.Subscript) else node.annotation
    named = annotation.id if isinstance(annotation, ast.Name) else getattr(annotation, "attr", "")
    return named == "Final" and node.target.id.lstrip("_").isupper()


def _named(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def mutated(source: str) -> set[str]:
    """Names this source mutates in place: `X.append(...)`, `X[k] = v`, `del X[k]`, `X += ...`."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            out.add(_named(node.func.value) or "")
        elif isinstance(node, (ast.Assign, ast.Delete, ast.AugAssign)):
            for target in node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]:
                if isinstance(target, ast.Subscript):
                    out.add(_named(target.value) or "")
                elif isinstance(node, ast.AugAssign):
                    out.add(_named(target) or "")
    return out


def violations(source: str, mutated_anywhere: frozenset[str] = frozenset()) -> list[str]:
    tree = ast.parse(source)
    imports = _imported_from(tree)
    found = [f"line {node.lineno}: global {', '.join(node.names)}"
             for node in ast.walk(tree) if isinstance(node, ast.Global)]
    for node in _module_level(tree.body):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets, value = [node.target], node.value
        else:
            continue
        if _is_final(node) and ast.unparse(targets[0]) not in mutated_anywhere | mutated(source):
            continue  # a declared constant table, read only
        if _is_mutable(value, imports):
            names = ", ".join(ast.unparse(t) for t in targets)
            found.append(f"line {node.lineno}: {names} = {ast.unparse(value)[:40]}")  # type: ignore[arg-type]
    return found


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


MUTATED = frozenset(set().union(*(mutated(p.read_text()) for p in SCANNED)))


@pytest.mark.parametrize("path", SCANNED, ids=_relative)
def test_given_operator_module_when_parsed_then_it_defines_no_module_level_mutable_state(path: Path) -> None:
    assert violations(path.read_text(), MUTATED) == [], (
        f"{_relative(path)} keeps process-wide mutable state: put it on the runtime (controller/state.py)"
    )


@pytest.mark.parametrize("source", [
    "_seen: dict[str, str] = {}",
    "HOOKS: list[object] = []",
    "_done = set()",
    "from collections import defaultdict\n_by = defaultdict(list)",
    "import asyncio\n_lock = asyncio.Lock()",
    "_current = None\ndef install(x):\n    global _current\n    _current = x",
    "try:\n    _cache = {}\nexcept ImportError:\n    pass",
    "from typing import Final\nHOOKS: Final = []\ndef add(h):\n    HOOKS.append(h)",
    "from typing import Final\n_SEEN: Final = {}\ndef see(k):\n    _SEEN[k] = 1",
    "from typing import Final\n_seen: Final = {}",
])
def test_given_module_state_when_checked_then_reported(source: str) -> None:
    assert violations(source)


@pytest.mark.parametrize("source", [
    "KINDS = ('a', 'b')",
    "NAMES = frozenset({'a'})",
    "from types import MappingProxyType\nTABLE = MappingProxyType({'a': 1})",
    "from prometheus_client import Counter\nC = Counter('c', 'd', registry=None)",
    "import logging\nlog = logging.getLogger('x')",
    "def f() -> dict[str, int]:\n    seen = {}\n    return seen",
    "class C:\n    items: list[int] = []",
    "from typing import Final\n_SHAPE: Final = {'name': str, 'items': [{'key': str}]}",
])
def test_given_constants_when_checked_then_nothing_reported(source: str) -> None:
    assert violations(source) == []
