"""requirements/operator.lock pins what pyproject.toml asks for: the image and the Dockerfile use it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, tuple[Version, list[str]]]:
    pins: dict[str, tuple[Version, list[str]]] = {}
    name = ""
    for line in (ROOT / "requirements" / "operator.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split("==")
            name = canonicalize_name(name)
            pins[name] = (Version(version.split()[0]), [])
        elif "--hash=sha256:" in line and name:
            pins[name][1].append(line.strip().split("sha256:")[1].split()[0])
    return pins


def test_given_pyproject_when_the_lock_is_read_then_every_dependency_is_pinned_inside_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned: run make lock"
        assert requirement.specifier.contains(pins[name][0]), f"{name}=={pins[name][0]} is outside {spec}"


def test_given_the_lock_when_read_then_every_pin_carries_a_sha256_hash() -> None:
    unhashed = [name for name, (_, hashes) in _pins().items() if not hashes]
    assert unhashed == []
    assert all(len(h) == 64 for _, hashes in _pins().values() for h in hashes)
