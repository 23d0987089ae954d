"""`ironflow status`: is the operator keyed, which key id, and which resources are not Ready."""

from __future__ import annotations

from typing import Any

import click

from ironflow.cli.errors import ClusterError
from ironflow.cli.output import emit, shorten, table
from ironflow.cli.session import ENV_VAR, Session, pass_session, shared_options
from ironflow.core.outcomes import sealed_key_id
from ironflow.core.sealing_key import CM_KEY_ID, CM_PUBLIC_KEY, SEALING_KEY_CONFIGMAP
from ironflow.k8s.sync_errors import Forbidden
from ironflow.k8s.sync_resources import CONFIGS, SECRETS, IronflowApi, entries, mapping

# What a person must do about a mode; the ConfigMap is what the operator published (status shows
# it as published: sealing commands are the ones that check its signature).
MODE_NOTES = {
    "no-key": "NoMasterKey: the operator has no master key; nothing is unsealed, projections are kept, "
    "sealing is refused; restore the ironflow-master-key Secret",
    "invalid-key": "the master key is malformed; nothing is unsealed, projections are kept",
    "dev": "development mode: plaintext dev-form values are accepted (never in production)",
}


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


def _not_ready(api: IronflowApi, namespace: str | None) -> tuple[list[dict[str, Any]], int]:
    rows, total = [], 0
    for kind in (SECRETS, CONFIGS):
        for obj in api.list(kind, namespace):
            total += 1
            status = mapping(obj.get("status"))
            ready = next(
                (c for c in status.get("conditions", []) if isinstance(c, dict) and c.get("type") == "Ready"),
                None,
            )
            if ready is not None and ready.get("status") == "True":
                continue
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


def _older_keys(api: IronflowApi, namespace: str | None, keys: list[dict[str, Any]], wide: bool) -> None:
    """Per environment, how many values are still sealed for a key id other than the current one
    (0 everywhere means a previous key can be retired: `ironflow key retire KEYID`)."""
    current = {row["environment"]: row.get("keyId") for row in keys}
    older: dict[str, dict[str, list[str]]] = {}
    for obj in api.list(SECRETS, namespace):
        env = obj["metadata"].get("namespace", "")
        for name, sealed in entries(obj, SECRETS).items():
            kid = sealed_key_id(sealed) if isinstance(sealed, str) else None
            if kid is not None and current.get(env) and kid != current[env]:
                older.setdefault(env, {}).setdefault(kid, []).append(f"{obj['metadata']['name']}/{name}")
    for row in keys:
        found = older.get(row["environment"])
        if found:
            row["olderKeys"] = {kid: len(names) for kid, names in sorted(found.items())}
            if wide:
                row["olderKeyNames"] = {kid: sorted(names) for kid, names in sorted(found.items())}


@click.command("status")
@click.option("--wide", is_flag=True, help="name the values still sealed for older key ids.")
@click.option(
    "-e",
    "--env",
    "env",
    default=None,
    envvar=ENV_VAR,
    metavar="NS",
    help="one environment (default: every namespace you may list).",
)
@shared_options
@pass_session
def status(session: Session, env: str | None, wide: bool) -> None:
    """Operator mode (keyed, dev, no-key, invalid-key) and key id per environment, and resources
    that are not Ready."""
    if env is not None:
        api = session.environment(env)
        keys = [_key_row(env, api.get_configmap(env, SEALING_KEY_CONFIGMAP))]
        not_ready, total = _not_ready(api, env)
        _older_keys(api, env, keys, wide)
    else:
        api = session.api()
        try:
            found = api.list_configmaps_named(SEALING_KEY_CONFIGMAP)
            keys = [_key_row(cm["metadata"].get("namespace", ""), cm) for cm in found]
            not_ready, total = _not_ready(api, None)
            _older_keys(api, None, keys, wide)
        except Forbidden as exc:
            raise ClusterError(
                f"the cluster refused the request: {exc.message} (pass --env NS to look at one environment)"
            ) from None
    result = {"keys": keys, "notReady": not_ready, "resources": total}
    emit(session.output, result, lambda: _human(result))


def _human(result: dict[str, Any]) -> str:
    keys = result["keys"]
    if keys:
        lines = [
            table(
                ["ENVIRONMENT", "MODE", "KEY ID"],
                [[k["environment"], k["mode"], k["keyId"] or "-"] for k in keys],
            )
        ]
    else:
        lines = ["no sealing key published in any namespace: is the operator running?"]
    lines.extend(f"{k['environment']}: {k['note']}" for k in keys if k.get("note"))
    for k in keys:
        for kid, count in (k.get("olderKeys") or {}).items():
            names = (k.get("olderKeyNames") or {}).get(kid)
            shown = f": {', '.join(names)}" if names else ""
            lines.append(f"{k['environment']}: {count} value(s) still sealed for older key id {kid}{shown}")
    lines.append("")
    if result["notReady"]:
        lines.append(f"{len(result['notReady'])} of {result['resources']} Ironflow resource(s) not Ready:")
        lines.append(
            table(
                ["KIND", "ENVIRONMENT", "NAME", "REASON", "MESSAGE"],
                [
                    [r["kind"], r["environment"], r["name"], r["reason"], shorten(r["message"], 80)]
                    for r in result["notReady"]
                ],
            )
        )
    else:
        lines.append(f"all {result['resources']} Ironflow resource(s) Ready")
    return "\n".join(lines)
