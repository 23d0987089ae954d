"""`ironflow status`: what needs attention, with a non-zero exit when anything does (CI gates on it).

It never says "all Ready" on the strength of what the operator last wrote: a status whose
`observedGeneration` lags the resource's `generation` is stale (the operator may be stopped), the
operator's liveness is asked of the cluster (cli.liveness), the pod webhook is checked as the API
server would call it (cli.webhook_check), and workloads whose pods the webhook refuses are found
in their ReplicaSets (cli.blocked). The mode/key-id lines (`_key_row`) are a section of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from ironflow.cli.blocked import blocked_workloads
from ironflow.cli.errors import ClusterError
from ironflow.cli.liveness import operator_alive
from ironflow.cli.output import emit, shorten, table
from ironflow.cli.replicas import replicas, replicas_human
from ironflow.cli.session import Session, environment_option, pass_session, shared_options
from ironflow.cli.webhook_check import check_webhook
from ironflow.core.lease import DEFAULT_LEASE_NAME
from ironflow.core.outcomes import sealed_key_id
from ironflow.core.sealing_key import CM_KEY_ID, CM_PUBLIC_KEY, SEALING_KEY_CONFIGMAP
from ironflow.k8s.sync_errors import Forbidden
from ironflow.k8s.sync_resources import CONFIGS, SECRETS, IronflowApi, entries, mapping, name_facts

# What a person must do about a mode; the ConfigMap is what the operator published (status shows
# it as published: sealing commands are the ones that check its signature).
MODE_NOTES = {
    "no-key": "NoMasterKey: the operator has no master key; nothing is unsealed, projections are kept, "
    "sealing is refused; restore the ironflow-master-key Secret",
    "invalid-key": "the master key is malformed; nothing is unsealed, projections are kept",
    "dev": "development mode: plaintext dev-form values are accepted (never in production)",
}

EXIT_ATTENTION = 4


def _key_row(namespace: str, configmap: dict[str, Any] | None) -> dict[str, Any]:
    if configmap is None:
        return {
            "environment": namespace,
            "mode": "none",
            "keyId": None,
            "note": "no sealing key published: is the operator serving this namespace?",
        }
    data = mapping(configmap.get("data"))
    mode = data.get("mode") or ("keyed" if data.get(CM_PUBLIC_KEY) else "unknown")
    row = {"environment": namespace, "mode": mode, "keyId": data.get(CM_KEY_ID)}
    if mode in MODE_NOTES:
        row["note"] = MODE_NOTES[mode]
    return row


def _keys(api: IronflowApi, env: str | None) -> list[dict[str, Any]]:
    if env is not None:
        return [_key_row(env, api.get_configmap(env, SEALING_KEY_CONFIGMAP))]
    found = api.list_configmaps_named(SEALING_KEY_CONFIGMAP)
    return [_key_row(cm["metadata"].get("namespace", ""), cm) for cm in found]


def _last_spec_change(meta: dict[str, Any]) -> datetime | None:
    """When the object was last written other than through /status (managedFields keep the time)."""
    times = []
    for entry in meta.get("managedFields") or []:
        if isinstance(entry, dict) and entry.get("subresource") != "status" and entry.get("time"):
            try:
                times.append(datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00")))
            except ValueError:
                continue
    return max(times) if times else None


def _staleness(obj: dict[str, Any], now: datetime, grace: float) -> tuple[str, str] | None:
    """(reason, message) when the status does not describe the current generation, else None."""
    meta, status = obj["metadata"], mapping(obj.get("status"))
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if observed is None or generation is None or observed >= generation:
        return None
    changed = _last_spec_change(meta)
    age = (now - changed).total_seconds() if changed else None
    if age is not None and age < grace:
        return "Pending", f"generation {generation} changed {age:.0f}s ago; not observed by the operator yet"
    ago = f"{age:.0f}s ago " if age is not None else ""
    return ("StaleStatus", f"generation {generation} changed {ago}and the operator has not observed it "
            f"(observedGeneration {observed}): is the operator running? The status shown is not current")


def _not_ready(api: IronflowApi, namespace: str | None, grace: float) -> tuple[list[dict[str, Any]], int]:
    rows, total, now = [], 0, datetime.now(UTC)
    for kind in (SECRETS, CONFIGS):
        for obj in api.list(kind, namespace):
            total += 1
            status = mapping(obj.get("status"))
            ready = next(
                (c for c in status.get("conditions", []) if isinstance(c, dict) and c.get("type") == "Ready"),
                None,
            )
            stale = _staleness(obj, now, grace)
            if stale is not None:
                reason, message = stale
            elif ready is not None and ready.get("status") == "True":
                continue
            else:
                reason = (ready or {}).get("reason") or "NotObserved"
                message = (ready or {}).get("message") or "the operator has not reported on it yet"
            rows.append(
                {
                    "kind": kind.kind,
                    "environment": obj["metadata"].get("namespace", ""),
                    "name": obj["metadata"]["name"],
                    "reason": reason,
                    "message": message,
                }
            )
    return rows, total


def _attention(result: dict[str, Any]) -> list[str]:
    """Every finding that should fail a CI gate, one line each."""
    out = []
    if result["operator"]["state"] == "down":
        out.append(f"operator down: {result['operator']['detail']}")
    out.extend(result["webhook"]["problems"])
    out.extend(
        f"{k['environment']}: {k['note']}" for k in result["keys"] if k["mode"] in ("no-key", "invalid-key")
    )
    out.extend(
        f"{r['kind']} {r['environment']}/{r['name']}: {r['reason']}" for r in result["notReady"]
        if r["reason"] != "Pending"
    )
    out.extend(f"{w['kind']} {w['environment']}/{w['name']}: pods refused" for w in result["blocked"])
    return out


def _older_keys(api: IronflowApi, namespace: str | None, keys: list[dict[str, Any]], wide: bool) -> None:
    """Per environment, how many values are still sealed for a previous key id (0 everywhere means
    a previous key can be retired: `ironflow key retire KEYID`), and how many for a key id the
    operator does not hold at all (its status says WrongKey: another cluster's key, or one already
    retired). Those are not "older": they never unseal here, and no reseal can change that."""
    current = {row["environment"]: row.get("keyId") for row in keys}
    found: dict[str, dict[str, dict[str, list[str]]]] = {"olderKeys": {}, "unknownKeys": {}}
    for obj in api.list(SECRETS, namespace):
        env = obj["metadata"].get("namespace", "")
        for name, sealed in entries(obj, SECRETS).items():
            kid = sealed_key_id(sealed) if isinstance(sealed, str) else None
            if kid is None or not current.get(env) or kid == current[env]:
                continue
            bucket = "unknownKeys" if name_facts(obj, name).get("reason") == "WrongKey" else "olderKeys"
            found[bucket].setdefault(env, {}).setdefault(kid, []).append(f"{obj['metadata']['name']}/{name}")
    for row in keys:
        for field, by_env in found.items():
            kids = by_env.get(row["environment"])
            if kids:
                row[field] = {kid: len(names) for kid, names in sorted(kids.items())}
                if wide:
                    row[field[:-1] + "Names"] = {kid: sorted(names) for kid, names in sorted(kids.items())}


@click.command("status")
@environment_option("one environment (default: every namespace you may list).")
@click.option("--operator-namespace", default="ironflow-system", show_default=True,
              envvar="IRONFLOW_OPERATOR_NAMESPACE", metavar="NS", help="where the operator is installed.")
@click.option("--lease-name", default=DEFAULT_LEASE_NAME, show_default=True, envvar="IRONFLOW_LEASE_NAME",
              metavar="NAME", help="the operator's leader Lease; its replicas' member Leases are "
                                   "labelled with this name.")
@click.option("--wide", is_flag=True,
              help="whole messages instead of shortened ones, and the values sealed for previous or "
                   "unknown key ids.")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="a change younger than this that the operator has not observed yet is pending, "
                   "not a problem.")
@shared_options
@pass_session
def status(session: Session, env: str | None, operator_namespace: str, lease_name: str, wide: bool,
           grace: float) -> None:
    """Operator alive, its replicas and their shares, webhook callable, mode and key ids, resources
    not Ready or not observed, workloads whose pods are refused. Exit code 4 when anything needs
    attention."""
    api = session.environment(env) if env is not None else session.api()
    try:
        keys = _keys(api, env)
        not_ready, total = _not_ready(api, env, grace)
        _older_keys(api, env, keys, wide)
    except Forbidden as exc:
        hint = "" if env else " (pass --env NS to look at one environment)"
        raise ClusterError(f"the cluster refused the request: {exc.message}{hint}") from None
    try:
        blocked, blocked_note = blocked_workloads(api.client, env), None
    except Forbidden:
        blocked = []
        blocked_note = "not allowed to list ReplicaSets: workloads whose pods are refused were not checked"
    liveness = operator_alive(api.client, operator_namespace, lease_name)
    webhook = check_webhook(api.client)
    result: dict[str, Any] = {
        "operator": {"state": liveness.state, "detail": liveness.detail, "source": liveness.source},
        "replicas": replicas(api.client, operator_namespace, lease_name),
        "webhook": {"state": webhook.state, "detail": webhook.detail, "checked": webhook.checked,
                    "problems": webhook.problems, "notes": webhook.notes},
        "keys": keys,
        "notReady": not_ready,
        "resources": total,
        "blocked": blocked,
        "blockedNote": blocked_note,
    }
    result["attention"] = _attention(result)
    emit(session.output, result, lambda: _human(result, wide))
    if result["attention"]:
        click.get_current_context().exit(EXIT_ATTENTION)


def _human(result: dict[str, Any], wide: bool) -> str:
    cut = (lambda text: text) if wide else (lambda text: shorten(text, 80))
    operator, webhook = result["operator"], result["webhook"]
    lines = [f"operator: {operator['state']} ({operator['detail']})",
             replicas_human(result["replicas"], wide)]
    if webhook["state"] == "unknown":
        lines.append(f"webhook: unknown ({webhook['detail']})")
    else:
        lines.append(f"webhook: {webhook['state']}")
        lines.extend(f"  {line}" for line in webhook["checked"])
        lines.extend(f"  PROBLEM: {p}" for p in webhook["problems"])
    lines.extend(f"  note: {n}" for n in webhook["notes"])
    lines += ["", _keys_human(result["keys"]), "", _resources_human(result, cut)]
    if result["blocked"]:
        lines += ["", f"{len(result['blocked'])} workload(s) whose pods are refused:", table(
            ["KIND", "ENVIRONMENT", "NAME", "MISSING", "FIX"],
            [[w["kind"], w["environment"], w["name"], ", ".join(w["missing"]) or "-", "; ".join(w["fix"])]
             for w in result["blocked"]],
        )]
        if wide:
            lines.extend(f"{w['environment']}/{w['name']}: {w['message']}" for w in result["blocked"])
    if result["blockedNote"]:
        lines += ["", result["blockedNote"]]
    lines.append("")
    count = len(result["attention"])
    lines.append(f"{count} finding(s) need attention" if count else "nothing needs attention")
    return "\n".join(lines)


def _keys_human(keys: list[dict[str, Any]]) -> str:
    if not keys:
        return "no sealing key published in any namespace: is the operator running?"
    rows = [[k["environment"], k["mode"], k["keyId"] or "-"] for k in keys]
    lines = [table(["ENVIRONMENT", "MODE", "KEY ID"], rows)]
    lines.extend(f"{k['environment']}: {k['note']}" for k in keys if k.get("note"))
    for k in keys:
        for kid, count in (k.get("olderKeys") or {}).items():
            names = (k.get("olderKeyNames") or {}).get(kid)
            shown = f": {', '.join(names)}" if names else ""
            lines.append(
                f"{k['environment']}: {count} value(s) still sealed for previous key id {kid}{shown}")
        for kid, count in (k.get("unknownKeys") or {}).items():
            names = (k.get("unknownKeyNames") or {}).get(kid)
            shown = f": {', '.join(names)}" if names else ""
            lines.append(f"{k['environment']}: {count} value(s) sealed for unknown key id {kid}, not among "
                         f"the operator's current or previous keys (another cluster's, or retired): they do "
                         f"not unseal here; seal them again{shown}")
    return "\n".join(lines)


def _resources_human(result: dict[str, Any], cut: Any) -> str:
    rows = result["notReady"]
    if not rows:
        return f"all {result['resources']} Ironflow resource(s) Ready and observed"
    return "\n".join([
        f"{len(rows)} of {result['resources']} Ironflow resource(s) not Ready or not observed:",
        table(
            ["KIND", "ENVIRONMENT", "NAME", "REASON", "MESSAGE"],
            [[r["kind"], r["environment"], r["name"], r["reason"], cut(r["message"])] for r in rows],
        ),
    ])
