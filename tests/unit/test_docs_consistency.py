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


def test_given_chart_sizing_when_docs_read_then_one_capacity_answer_everywhere() -> None:
    """values.yaml, install.md, operations.md (Scaling out) and both statements of benchmarks.md give
    the same figure: the capacity model's resources under the limit, rounded to the nearest 500."""
    bench = (ROOT / "docs/benchmarks.md").read_text()
    model = re.search(r"one Ironflow replica holds about ([\d,]+) resources", bench)
    assert model is not None
    answer = round(int(model.group(1).replace(",", "")) / 500) * 500
    stated = f"about {answer:,} resources"
    for path in ("docs/benchmarks.md", "docs/install.md", "docs/operations.md",
                 "charts/ironflow/values.yaml"):
        text = " ".join((ROOT / path).read_text().split())
        assert stated in text, f"{path} does not say {stated}"
        others = {m for m in re.findall(r"(?:up to|holds?|hold up to) about ([\d,]+) resources", text)
                  if m.replace(",", "") not in (str(answer), model.group(1).replace(",", ""))}
        assert others == set(), f"{path} gives another capacity: {others}"


def test_given_status_exit_codes_when_docs_read_then_attention_is_the_code_the_cli_uses() -> None:
    from ironflow.cli.status import EXIT_ATTENTION

    install = " ".join((ROOT / "docs/install.md").read_text().split())
    assert f"operator is down and exits {EXIT_ATTENTION}" in install
    assert not re.search(r"`ironflow status`[^.]*exits 1 when", install)
    cli = (ROOT / "docs/cli.md").read_text()
    assert re.search(rf"^\| {EXIT_ATTENTION} \| `status` only", cli, flags=re.M)
