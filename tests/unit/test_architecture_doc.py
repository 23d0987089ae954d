"""docs/architecture.md's file map is where a newcomer learns which module owns what: it must
name every module of the package under its own folder, and nothing that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator" / "ironflow"
DOC = ROOT / "docs" / "architecture.md"


def mapped() -> set[str]:
    """`folder/module.py` for every module the map names, under the folder heading it."""
    block = DOC.read_text().split("```\noperator/ironflow/\n", 1)[1].split("```", 1)[0]
    found: set[str] = set()
    folder = ""
    for line in block.splitlines():
        heading = re.match(r"^  (\w+)/", line)
        if heading:
            folder = heading[1]
        elif re.match(r"^  \w+\.py", line):
            folder = ""
        elif re.match(r"^\S", line):
            break  # past the package (the test bed's line)
        for name in re.findall(r"\b(\w+\.py)\b", line.split("  ", 2)[-1] if heading else line):
            found.add(f"{folder}/{name}" if folder else name)
    return found


def modules() -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }


def test_given_the_package_when_the_map_is_read_then_every_module_is_named_under_its_folder() -> None:
    missing = sorted(modules() - mapped())
    assert missing == [], f"docs/architecture.md's file map lacks {missing}"


def test_given_the_map_when_compared_with_the_package_then_it_names_no_module_that_is_gone() -> None:
    stale = sorted(mapped() - modules())
    assert stale == [], f"docs/architecture.md's file map names modules that do not exist: {stale}"
