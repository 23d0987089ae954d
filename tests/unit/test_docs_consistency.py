"""What the docs promise about the build matches what `make help` says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_given_make_help_build_time_when_readme_read_then_same_range() -> None:
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(r"control-plane: ## build \(first time, ~(\d+)-(\d+) min\)", makefile)
    assert found is not None
    low, high = found.groups()
    readme = (ROOT / "README.md").read_text()
    assert f"{low} to {high} minutes once per machine, as `make help` says" in readme


def test_given_install_docs_when_read_then_the_cli_is_never_installed_by_the_bare_pypi_name() -> None:
    texts = [p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                                     ROOT / "charts/ironflow/templates/NOTES.txt"]]
    for text in texts:
        for line in text.splitlines():
            if re.search(r"pip install ironflow\b(?!-operator|_operator)", line):
                assert "not" in line or "never" in line, line
