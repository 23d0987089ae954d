"""`ironflow promote`: carry configs from one environment to the next; secrets stay per environment.

Config values are copied (they are plaintext and meant to be the same across environments);
sealed values never are, because each is bound to its namespace and would not unseal elsewhere,
and because production secrets should differ from development ones. So promote only reports
which secret names the target still lacks. Names that exist only in the target are kept.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ironflow.cli.configs import compact
from ironflow.cli.environments import environment_of
from ironflow.cli.errors import UserError
from ironflow.cli.output import emit, shorten
from ironflow.cli.session import Session, pass_session, shared_options
from ironflow.k8s.sync_resources import CONFIGS, SECRETS, IronflowApi, entries


def _canonical(value: Any) -> str:
    # Python says True == 1 == 1.0; JSON readers do not, so compare the JSON text.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _effective(api: IronflowApi, namespace: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Each config name's winning value and the resource it lives in."""
    environment, objs = environment_of(api.list(CONFIGS, namespace), CONFIGS)
    values = {name: entries(objs[owner], CONFIGS)[name] for name, owner in environment.owners.items()}
    return values, dict(environment.owners)


def _secret_names(api: IronflowApi, namespace: str) -> set[str]:
    return {name for obj in api.list(SECRETS, namespace) for name in entries(obj, SECRETS)}


def plan(
    source: dict[str, Any], source_owner: dict[str, str], target: dict[str, Any], target_owner: dict[str, str]
) -> dict[str, Any]:
    """Pure diff: what to write where. A changed name is written where the target defines it."""
    added: dict[str, Any] = {}
    changed: dict[str, dict[str, Any]] = {}
    unchanged: list[str] = []
    writes: dict[str, dict[str, Any]] = {}
    for name in sorted(source):
        new = source[name]
        if name in target and _canonical(target[name]) == _canonical(new):
            unchanged.append(name)
            continue
        if name in target:
            changed[name] = {"from": target[name], "to": new}
            resource = target_owner[name]
        else:
            added[name] = new
            resource = source_owner[name]
        writes.setdefault(resource, {})[name] = new
    return {
        "added": added,
        "changed": changed,
        "unchanged": unchanged,
        "onlyInTarget": sorted(set(target) - set(source)),
        "writes": writes,
    }


@click.command("promote")
@click.option("--from", "source", required=True, metavar="NS", help="environment to copy configs from.")
@click.option("--to", "target", required=True, metavar="NS", help="environment to copy configs to.")
@click.option("--dry-run", is_flag=True, help="show the diff, write nothing.")
@shared_options
@pass_session
def promote(session: Session, source: str, target: str, dry_run: bool) -> None:
    """Copy configs from one environment to another, show the diff, list secret names the target lacks."""
    if source == target:
        raise UserError("--from and --to name the same environment")
    api = session.environment(source)
    session.environment(target)
    diff = plan(*_effective(api, source), *_effective(api, target))
    missing = sorted(_secret_names(api, source) - _secret_names(api, target))
    writes = diff.pop("writes")
    if not dry_run:
        for resource, values in sorted(writes.items()):
            api.set_entries(CONFIGS, target, resource, values)
    result = {"from": source, "to": target, "dryRun": dry_run, "configs": diff, "missingSecrets": missing}
    emit(session.output, result, lambda: _human(result))


def _human(result: dict[str, Any]) -> str:
    configs, target = result["configs"], result["to"]
    lines = [f"configs {result['from']} -> {target}:"]
    lines += [f"  + {name} = {shorten(compact(value))}" for name, value in configs["added"].items()]
    lines += [
        f"  ~ {name}: {shorten(compact(c['from']), 30)} -> {shorten(compact(c['to']), 30)}"
        for name, c in configs["changed"].items()
    ]
    count = len(configs["added"]) + len(configs["changed"])
    lines.append(
        f"  {len(configs['unchanged'])} unchanged, {len(configs['onlyInTarget'])} only in {target} (kept)"
    )
    if result["dryRun"]:
        lines.append(f"dry run: {count} change(s) not written")
    else:
        lines.append(f"{count} change(s) written to {target}")
    if result["missingSecrets"]:
        lines.append(f"secret names {target} lacks (set them per environment; values are never copied):")
        lines += [f"  {name}" for name in result["missingSecrets"]]
        lines.append(f"  e.g. ironflow secret set {result['missingSecrets'][0]} --env {target} -")
    else:
        lines.append(f"{target} defines every secret name {result['from']} has")
    return "\n".join(lines)
