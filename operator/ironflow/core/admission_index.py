"""What admission needs of each resource, and a namespace's view kept current change by change.

Every replica answers admission for every served namespace but keeps full bodies only for the
namespaces it reconciles. So for every resource it keeps a `Summary`: the names it defines, what
orders its claim (creation time, name), its uid and, per name, the version or problem its status
reports for the current generation. Exactly what `build_view` reads of a body, and nothing of the
values: no sealed string, no config value, no spec beyond the names.

A `NamespaceIndex` holds one namespace's summaries. The first `view()` resolves them once; from
then on each change of one resource re-resolves only the names that resource defined or defines
(oldest definition wins, as `core.environment.resolve` decides it), instead of a `build_view`
over the whole namespace per change. tests/unit/test_admission_index.py checks that the view so
kept always equals a full rebuild.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from ironflow.core.declarations import Kind
from ironflow.core.environment import Environment
from ironflow.core.environment_view import (
    EnvironmentView,
    NameProblem,
    definer_of,
    problem_of,
    status_fact,
)

KINDS: Final[tuple[Kind, ...]] = ("secret", "config")
_NOTHING: Final[Mapping[str, Any]] = MappingProxyType({})  # shared by every summary without entries


@dataclass(frozen=True, slots=True)
class Summary:
    """One resource as admission sees it. `rv` orders watch events and takes no part in equality,
    so a write that changes nothing admission reads (an edited value) is not a change here.

    Tuples rather than a set and a dict: most resources define a name or two, and at 100,000
    resources per replica the difference (about 200 bytes each) is 20 MB."""

    resource: str
    created: str  # creationTimestamp: with `resource`, the order of this claim on its names
    uid: str  # "" when the body has none
    names: tuple[str, ...]  # sorted
    versions: tuple[str, ...]  # the version status reports for names[i] ("" none); () when none has one
    problems: Mapping[str, NameProblem]  # name -> why it is not plainly projected (the few that are not)
    rv: int = field(default=0, compare=False)

    @property
    def order(self) -> tuple[str, str]:
        return (self.created, self.resource)

    def version(self, name: str) -> str | None:
        if not self.versions or name not in self.names:
            return None
        return self.versions[self.names.index(name)] or None


def summarise(kind: Kind, body: Mapping[str, Any], rv: int = 0) -> Summary:
    """Read through the same helpers as `build_view`, so a view from summaries is the same view."""
    definer = definer_of(kind, body)
    names = tuple(sorted(sys.intern(n) for n in definer.names))
    versions: list[str] = []
    problems: dict[str, NameProblem] = {}
    for name in names:
        fact = status_fact(body, name)
        version = fact.get("version")
        versions.append(version if isinstance(version, str) else "")
        problem = problem_of(body, fact)
        if problem is not None:
            problems[name] = problem
    meta = body.get("metadata")
    uid = meta.get("uid") if isinstance(meta, Mapping) else None
    return Summary(
        resource=sys.intern(definer.resource),
        created=sys.intern(definer.created),  # thousands of resources share a creation second
        uid=uid if isinstance(uid, str) else "",
        names=names,
        versions=tuple(versions) if any(versions) else (),
        problems=problems or _NOTHING,
        rv=rv,
    )


class _Resolved:
    """One kind's resolution, kept as `build_view` would compute it. A name defined by one
    resource costs one entry in `owners`; only names defined by two or more keep their definers."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.contested: dict[str, set[str]] = {}  # name -> every resource defining it (two or more)
        self.conflicts: dict[str, dict[str, str]] = {}  # loser -> name -> winner
        self.resources: set[str] = set()
        self.uids: dict[str, str] = {}


class NamespaceIndex:
    """One namespace's summaries by kind, and its resolution once a view has been asked for."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.summaries: dict[Kind, dict[str, Summary]] = {kind: {} for kind in KINDS}
        self._resolved: dict[Kind, _Resolved] | None = None
        self._versions: dict[tuple[Kind, str], str] = {}
        self._problems: dict[tuple[Kind, str], NameProblem] = {}

    def get(self, kind: Kind, resource: str) -> Summary | None:
        return self.summaries[kind].get(resource)

    def put(self, kind: Kind, summary: Summary) -> bool:
        """Store the summary; True when the view changes with it."""
        old = self.summaries[kind].get(summary.resource)
        self.summaries[kind][summary.resource] = summary
        if old == summary:
            return False
        self._apply(kind, old, summary)
        return True

    def drop(self, kind: Kind, resource: str) -> bool:
        old = self.summaries[kind].pop(resource, None)
        if old is None:
            return False
        self._apply(kind, old, None)
        return True

    def __len__(self) -> int:
        return sum(len(by_name) for by_name in self.summaries.values())

    def view(self) -> EnvironmentView:
        """A snapshot: later changes do not reach a view already handed out (copies of dicts,
        no resolving)."""
        if self._resolved is None:
            self._resolved = {kind: _Resolved() for kind in KINDS}
            for kind in KINDS:
                for summary in self.summaries[kind].values():
                    self._apply(kind, None, summary)
        resolved = self._resolved
        return EnvironmentView(
            namespace=self.namespace,
            owners={k: Environment(owners=dict(r.owners), conflicts={loser: dict(names) for loser, names
                                                                     in r.conflicts.items()})
                    for k, r in resolved.items()},
            versions=dict(self._versions),
            resources={k: frozenset(r.resources) for k, r in resolved.items()},
            uids={k: dict(r.uids) for k, r in resolved.items()},
            problems=dict(self._problems),
        )

    def _apply(self, kind: Kind, old: Summary | None, new: Summary | None) -> None:
        if self._resolved is None:  # nobody asked for a view yet: nothing to keep current
            return
        resolved = self._resolved[kind]
        resource = new.resource if new is not None else old.resource if old is not None else ""
        if new is None:
            resolved.resources.discard(resource)
            resolved.uids.pop(resource, None)
        else:
            resolved.resources.add(resource)
            if new.uid:
                resolved.uids[resource] = new.uid
            else:
                resolved.uids.pop(resource, None)
        defines = frozenset(new.names) if new is not None else frozenset()
        for name in defines.union(old.names) if old is not None else defines:
            self._settle(kind, resolved, name, resource, name in defines)

    def _settle(self, kind: Kind, resolved: _Resolved, name: str, resource: str, defines: bool) -> None:
        """Decide `name` again after `resource` changed: oldest definition wins."""
        before = resolved.contested.get(name)
        definers = set(before) if before is not None else (
            {resolved.owners[name]} if name in resolved.owners else set())
        for loser in definers:
            lost = resolved.conflicts.get(loser)
            if lost is not None:
                lost.pop(name, None)
                if not lost:
                    del resolved.conflicts[loser]
        if defines:
            definers.add(resource)
        else:
            definers.discard(resource)
        key = (kind, name)
        if not definers:
            resolved.owners.pop(name, None)
            resolved.contested.pop(name, None)
            self._versions.pop(key, None)
            self._problems.pop(key, None)
            return
        summaries = self.summaries[kind]
        winner = min(definers, key=lambda d: summaries[d].order)
        resolved.owners[name] = winner
        if len(definers) > 1:
            resolved.contested[name] = definers
            for loser in definers - {winner}:
                resolved.conflicts.setdefault(loser, {})[name] = winner
        else:
            resolved.contested.pop(name, None)
        won = summaries[winner]
        version, problem = won.version(name), won.problems.get(name)
        if version is not None:
            self._versions[key] = version
        else:
            self._versions.pop(key, None)
        if problem is not None:
            self._problems[key] = problem
        else:
            self._problems.pop(key, None)
