"""`ironflow promote`: carry configs from one environment to the next; secrets stay per environment.

Config values are copied (they are plaintext and meant to be the same across environments);
sealed values never are, because each is bound to its namespace and would not unseal elsewhere,
and because production secrets should differ from development ones. So promote only reports
which secret names the target still lacks. Names that exist only in the target are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ironflow.cli.configs import compact
from ironflow.cli.environments import environment_of
from ironflow.cli.errors import UserError
from ironflow.cli.output import emit, shorten
from ironflow.cli.promote_files import effective_in_dir, secret_names_in_dir, workloads_in_dir, write_to_dir
from ironflow.cli.promote_gaps import WORKLOADS, declared_by_workloads, gaps
from ironflow.cli.session import Session, pass_session, shared_options
from ironflow.core.names import validate_name
from ironflow.k8s.sync_resources import CONFIGS, SECRETS, IronflowApi, entries
from ironflow.k8s.sync_workloads import list_workloads


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


def _filter(names: dict[str, Any], only: tuple[str, ...], exclude: tuple[str, ...]) -> dict[str, Any]:
    for name in (*only, *exclude):
        validate_name(name)
    return {n: v for n, v in names.items() if (not only or n in only) and n not in exclude}


def _workloads(api: IronflowApi, namespace: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for plural, kind in WORKLOADS:
        out.extend((kind, item) for item in list_workloads(api.client, plural, namespace))
    return out


def _target_exists(session: Session, target: str, to_dir: str | None) -> bool:
    """With --to-dir the target environment need not exist yet: Git will create it."""
    try:
        session.environment(target)
    except UserError:
        if to_dir is None:
            raise
        return False
    return True


@click.command("promote")
@click.option("--from", "source", required=True, metavar="NS", help="environment to copy configs from.")
@click.option("--to", "target", required=True, metavar="NS", help="environment to copy configs to.")
@click.option("--dry-run", is_flag=True, help="show the diff, write nothing.")
@click.option("--only", multiple=True, metavar="NAME", help="promote only this config name (repeatable).")
@click.option("--exclude", multiple=True, metavar="NAME", help="leave this config name out (repeatable).")
@click.option(
    "--to-dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="write the promoted IronflowConfig manifests into DIR (for Git) instead of the cluster.",
)
@shared_options
@pass_session
def promote(
    session: Session,
    source: str,
    target: str,
    dry_run: bool,
    only: tuple[str, ...],
    exclude: tuple[str, ...],
    to_dir: str | None,
) -> None:
    """Copy configs from one environment to another, show the diff, list what the target still lacks.

    The missing report covers the secret names the source has and every name the target's workloads
    declare, so a chain dev -> staging -> prod never hides a gap. With --to-dir the target's state
    is the IronflowConfig manifests in DIR, which are updated (nothing is applied), and the
    workloads in DIR (Deployments ... Pods, CronJobs) count as the target's too.
    """
    if source == target:
        raise UserError("--from and --to name the same environment")
    api = session.environment(source)
    target_live = _target_exists(session, target, to_dir)
    source_values, source_owner = _effective(api, source)
    source_values = _filter(source_values, only, exclude)
    if to_dir is not None:
        target_values, target_owner = effective_in_dir(Path(to_dir), target)
    else:
        target_values, target_owner = _effective(api, target)
    diff = plan(source_values, source_owner, target_values, target_owner)
    writes = diff.pop("writes")
    target_secrets = _secret_names(api, target) if target_live else set()
    if to_dir is not None:  # what Git will apply counts as defined
        target_secrets |= secret_names_in_dir(Path(to_dir), target)
    in_git = workloads_in_dir(Path(to_dir), target) if to_dir is not None else []  # what Git will run
    declared = declared_by_workloads(_workloads(api, target) if target_live else [], in_git)
    after = set(target_values) | set(source_values)
    missing = gaps(source, _secret_names(api, source), target_secrets, after, declared)
    written: list[str] = []
    if not dry_run:
        if to_dir is not None:
            written = write_to_dir(Path(to_dir), target, writes)
        else:
            for resource, values in sorted(writes.items()):
                api.set_entries(CONFIGS, target, resource, values)
    result = {
        "from": source,
        "to": target,
        "dryRun": dry_run,
        "toDir": to_dir,
        "written": written,
        "configs": diff,
        "missingSecrets": sorted(m["name"] for m in missing if m["kind"] == "secret"),
        "missing": missing,
    }
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
    where = result["toDir"] or target
    if result["dryRun"]:
        lines.append(f"dry run: {count} change(s) not written")
    else:
        lines.append(f"{count} change(s) written to {where}")
        lines += [f"  {path}" for path in result["written"]]
    if result["missing"]:
        lines.append(f"names {target} lacks (secrets are set per environment; values are never copied):")
        lines += [f"  {m['kind']} {m['name']}: {', '.join(m['neededBy'])}" for m in result["missing"]]
        secrets = result["missingSecrets"]
        if secrets:
            lines.append(f"  e.g. ironflow secret set {secrets[0]} -n {target} -")
    else:
        lines.append(
            f"{target} has every secret name {result['from']} has and every name its workloads declare"
        )
    return "\n".join(lines)
