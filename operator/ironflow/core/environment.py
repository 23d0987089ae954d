"""Who defines each name in an environment, when several resources could.

Names are environment-wide (docs/reference.md, "Names"): pods ask for `DB_PASSWORD`, not for a
resource. When two
resources of one kind define the same name, the oldest definition wins so that adding a new
resource can never silently change what running pods get; the newer one reports the conflict.
This module is shared by the operator (who projects what) and the webhook (where a pod's name
comes from), so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Definer:
    """One resource's claim on names: enough to order claims, nothing of the values."""

    resource: str
    created: str  # RFC 3339 creationTimestamp; lexical order is time order for the API's format
    names: frozenset[str]
    uid: str = ""

    @property
    def order(self) -> tuple[str, str]:
        return (self.created, self.resource)


@dataclass(frozen=True)
class Environment:
    """The resolved view of one kind in one namespace: each name to the resource that owns it."""

    owners: Mapping[str, str]
    conflicts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def owner(self, name: str) -> str | None:
        return self.owners.get(name)

    def lost_by(self, resource: str) -> dict[str, str]:
        """Names `resource` defines but loses, each to the resource that wins it."""
        return dict(self.conflicts.get(resource, {}))


def resolve(definers: Iterable[Definer]) -> Environment:
    """Oldest definition wins; ties on the creation second go to the lexically first name."""
    owners: dict[str, str] = {}
    conflicts: dict[str, dict[str, str]] = {}
    for d in sorted(definers, key=lambda d: d.order):
        for name in sorted(d.names):
            winner = owners.get(name)
            if winner is None:
                owners[name] = d.resource
            else:
                conflicts.setdefault(d.resource, {})[name] = winner
    return Environment(owners=owners, conflicts=conflicts)
