"""A whole environment's view of one kind: which resource owns each name (oldest wins).

The operator decides ownership with core.environment; the CLI asks the same function so that
what `config get` prints and what `promote` copies is what pods actually get, and so that a
write into a resource that loses the name can be flagged instead of silently doing nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ironflow.cli.errors import UserError
from ironflow.cli.output import emit, warn
from ironflow.cli.served import did_you_mean
from ironflow.cli.session import DEFAULT_RESOURCE, Session
from ironflow.core.environment import Definer, Environment, resolve
from ironflow.core.names import validate_name
from ironflow.k8s.sync_resources import IronflowApi, Kind, entries


def environment_of(
    objs: Iterable[dict[str, Any]], kind: Kind
) -> tuple[Environment, dict[str, dict[str, Any]]]:
    """Who owns each name, and the objects by resource name."""
    by_name = {o["metadata"]["name"]: o for o in objs}
    definers = [
        Definer(
            resource=name,
            created=str(o["metadata"].get("creationTimestamp", "")),
            names=frozenset(entries(o, kind)),
            uid=str(o["metadata"].get("uid", "")),
        )
        for name, o in by_name.items()
    ]
    return resolve(definers), by_name


def warn_if_shadowed(api: IronflowApi, kind: Kind, namespace: str, resource: str, name: str) -> None:
    """After a write: say so when an older resource defines the name, because that one wins."""
    environment, _ = environment_of(api.list(kind, namespace), kind)
    owner = environment.owner(name)
    if owner is not None and owner != resource:
        warn(
            f"{name} is also defined by {kind.kind} {owner}, which is older and wins: pods keep getting "
            f"that value until {name} is removed there (ironflow ... unset {name} -r {owner})"
        )


def definer_for(api: IronflowApi, kind: Kind, namespace: str, name: str, forced: str | None) -> str:
    """The resource a `set` of NAME writes into: the one that defines NAME already (the winner, if
    several do), else `app`. `-r` forces a resource, but never a second definition of a name
    another resource holds: that would silently put the newer resource into NameConflict."""
    environment, by_name = environment_of(api.list(kind, namespace), kind)
    definers = sorted(r for r, obj in by_name.items() if name in entries(obj, kind))
    if forced is None:
        return environment.owner(name) or DEFAULT_RESOURCE
    if definers and forced not in definers:
        raise UserError(
            f"{name} is already defined by {kind.kind} {', '.join(definers)} in environment {namespace}; "
            f"writing it into {forced} too would make a second, conflicting definition. Set it where it is "
            f"(leave out -r), or unset it there first (-r {definers[0]})"
        )
    return forced


def unset_name(
    session: Session, kind: Kind, noun: str, name: str, env: str, resource: str | None
) -> None:
    """`secret unset` and `config unset`: one JSON patch removing one name, or a one-line reason.
    Without -r the name is removed from the resource that defines it (the winner, if several do)."""
    validate_name(name)
    api = session.environment(env)
    environment, by_name = environment_of(api.list(kind, env), kind)
    if resource is None:
        owner = environment.owner(name)
        if owner is None:
            hint = did_you_mean(name, environment.owners)
            raise UserError(f"{noun} {name} is not set in any {kind.kind} of environment {env}{hint}")
        resource = owner
    if not api.remove_entry(kind, env, resource, name):
        hint = did_you_mean(name, entries(by_name[resource], kind) if resource in by_name else ())
        raise UserError(f"{noun} {name} is not set in {kind.kind} {resource} of environment {env}{hint}")
    emit(
        session.output,
        {"name": name, "environment": env, "resource": resource, "removed": True},
        lambda: f"{noun} {name} removed from environment {env} ({kind.kind} {resource})",
    )
