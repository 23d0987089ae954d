"""A clone of the repository stands alone: its links resolve inside it, and nothing it carries
points at a tracker, a machine or a document that only its authors have.

Why a test: such references creep back in with every change (a comment naming the ticket that
asked for it, a path on the machine a script was written on), and a reader of a clone can follow
none of them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()

# Built from pieces so that this file does not match itself.
FORBIDDEN = {
    "a tracker's issue number": re.compile(r"\bissues?\s*#?\s*\d", re.IGNORECASE),
    "a note kept outside the repository": re.compile(r"\bsession\s+notes?\b", re.IGNORECASE),
    "the team's shared folder": re.compile(re.escape("../" + "shared")),
    "a path on a build machine": re.compile("(?<![\\w.])/(?:" + "work" + "|" + "root" + ")/"),
}
SKIPPED_DIRS = {".git", ".venv", ".cluster", ".build", "__pycache__", "node_modules"}


def tracked_files() -> list[Path]:
    """The files a clone holds: git's list when this is a checkout, else a walk without build output."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        return [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob("*") if p.is_file()
                and not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)
                and not any(part.endswith(".egg-info") for part in p.parts)]


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # deleted in the work tree, not yet in git's index
        return None
    if b"\0" in data[:4096]:
        return None
    return data.decode("utf-8", errors="replace")


def test_given_every_tracked_file_when_scanned_then_no_tracker_machine_or_outside_note_is_named() -> None:
    found = []
    for path in tracked_files():
        if path.resolve() == THIS:
            continue
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()[:100]}")
    assert found == [], "say it in the project's own words instead:\n" + "\n".join(found)


def test_given_the_scan_when_fed_known_references_then_each_is_caught() -> None:
    """The patterns themselves can fail: each known form is caught, ordinary words are not."""
    caught = ["see issue 14", "Issue 10.3's race", "issues #2", "the session note", "../" + "shared/X.md",
              "/" + "work/main/x", "cp /" + "root/.cache"]
    for line in caught:
        assert any(p.search(line) for p in FORBIDDEN.values()), line
    for line in ["the Issuer", "an issue with kopf", "docs/work/x", "network/rootless", "shared folder"]:
        assert not any(p.search(line) for p in FORBIDDEN.values()), line


# -- links -----------------------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_files() -> list[Path]:
    files = [ROOT / name for name in ("README.md", "CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md")]
    files += sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "examples").rglob("*.md"))
    files += sorted((ROOT / "charts").rglob("README.md"))
    return [f for f in files if f.is_file()]


def _outside_code(text: str, inline: bool = False) -> str:
    """The text without fenced code blocks and (unless `inline`) inline code: links there are
    examples, not links. Headings keep their inline code: it is part of their anchor."""
    kept, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line if inline else re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _outside_code(path.read_text(encoding="utf-8"), inline=True).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    out.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", path.read_text(encoding="utf-8")))
    return out


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for match in LINK.finditer(_outside_code(path.read_text(encoding="utf-8"))):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path.resolve()
        where = f"{path.relative_to(root)}: ({target})"
        if root not in resolved.parents and resolved != root:
            problems.append(f"{where} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: no heading with anchor #{anchor}")
    return problems


def test_given_readme_docs_and_examples_when_links_followed_then_each_resolves_inside_the_repo() -> None:
    files = markdown_files()
    assert ROOT / "README.md" in files and ROOT / "docs" / "reference.md" in files
    problems = [problem for path in files for problem in broken_links(path)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Memory per resource, reads per reconcile", "memory-per-resource-reads-per-reconcile"),
        ("`ironflow status` exit codes", "ironflow-status-exit-codes"),
        ("Webhook calls fail: x509, connection refused", "webhook-calls-fail-x509-connection-refused"),
    ],
)
def test_given_a_heading_when_slugged_then_github_anchor(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_given_a_broken_link_and_a_missing_anchor_when_checked_then_both_are_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "reference.md").write_text("# Reference\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text("# Top\n[ok](reference.md#reference) [gone](nothing.md) [anchor](#top) [bad](#nowhere)\n"
                    "[out](../../outside.md) [web](https://example.org/x)\n```\n[in code](nothing.md)\n```\n")
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 3, problems
    assert any("nothing.md) does not exist" in p for p in problems)
    assert any("#nowhere" in p for p in problems)
    assert any("outside the repository" in p for p in problems)
