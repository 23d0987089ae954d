"""The grep-level rule: a stored IronflowSecret/IronflowConfig spec is read in one place only.

`core.model.spec_of` turns any stored shape into a Spec or an InvalidSpec. A path that reached
into a raw body (`(body.get("spec") or {}).get("sealed")`) met `spec: "a string"` stored through a
CRD without Ironflow's schema, raised AttributeError, and ended the master-key watch. Pods,
workloads and Leases have specs of their own: those reads are allowed only on receivers named
for them, so a CR body read under another name fails this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import ironflow

PACKAGE = Path(ironflow.__file__).parent
THE_READER = PACKAGE / "core" / "model.py"
NOT_CR_BODIES = {"pod", "workload", "lease"}
# `X.get("spec"`, `X["spec"]` (not an assignment), `X.setdefault("spec"`, `X.pop("spec"`, and
# `for part in (..., "spec", ...)`-style reads through a loop variable.
SPEC_READ = re.compile(
    r"""(?P<receiver>[\w)\]]+)\s*(?:\.(?:get|setdefault|pop)\(\s*|\[\s*)["']spec["'](?!\s*\]\s*=[^=])"""
)
SPEC_IN_TUPLE = re.compile(r"""for \w+ in \(\s*["'][^)]*["']spec["']""")


def _offences(source: str) -> list[str]:
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        for match in SPEC_READ.finditer(line):
            if match.group("receiver") not in NOT_CR_BODIES:
                found.append(f"{number}: {line.strip()}")
        if SPEC_IN_TUPLE.search(line):
            found.append(f"{number}: {line.strip()}")
    return found


def test_given_package_source_when_grepped_then_only_the_spec_reader_reads_a_spec() -> None:
    offences = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != THE_READER and (found := _offences(path.read_text(encoding="utf-8")))
    }
    assert offences == {}, "read the spec through ironflow.core.model.spec_of: " + repr(offences)


def test_given_the_old_raw_reads_when_grepped_then_each_is_caught() -> None:
    """The rule itself can fail: every way the package used to read a CR spec is caught."""
    old_reads = [
        'sealed = (body.get("spec") or {}).get("sealed")',
        'sealed = docs[index]["spec"]["sealed"]',
        'spec = target.setdefault("spec", {})',
        'names = _mapping(_mapping(_mapping(item).get("spec")).get(field))',
        'meta, spec = (_mapping(item.get(part)) for part in ("metadata", "spec"))',
        "spec = obj.get('spec')",
    ]
    assert all(_offences(line) for line in old_reads)
    allowed = [
        'spec = pod.get("spec") or {}',
        'for c in (pod.get("spec") or {}).get("containers"):',
        'template = (workload.get("spec") or {}).get("template")',
        'patch["spec"] = {"template": {}}',
        'return {"kind": "Lease", "spec": record.spec()}',
    ]
    assert not any(_offences(line) for line in allowed)
