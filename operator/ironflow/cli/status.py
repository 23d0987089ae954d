"""`ironflow status`: is the operator keyed, which key id, and which resources are not Ready."""

from __future__ import annotations

from typing import Any

import click

from ironflow.cli.errors import ClusterError
from ironflow.cli.output import emit, shorten, table
from ironflow.cli.session import ENV_VAR, Session, pass_session, shared_options
from ironflow.core.sealing_key import CM_KEY_ID, CM_PUBLIC_KEY, SEALING_KEY_CONFIGMAP
from ironflow.k8s.sync_errors import Forbidden
from ironflow.k8s.sync_resources import CONFIGS, SECRETS, IronflowApi, mapping


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
    return {"environment": namespace, "mode": mode, "keyId": data.get(CM_KEY_ID)}


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


@click.command("status")
@click.option(
    "-e",
    "--env",
    "-n",
    "--namespace",
    "env",
    default=None,
    envvar=ENV_VAR,
    metavar="NS",
    help="one environment (default: every namespace you may list).",
)
@shared_options
@pass_session
def status(session: Session, env: str | None) -> None:
    """Operator mode (keyed or dev) and key id per environment, and resources that are not Ready."""
    if env is not None:
        api = session.environment(env)
        keys = [_key_row(env, api.get_configmap(env, SEALING_KEY_CONFIGMAP))]
        not_ready, total = _not_ready(api, env)
    else:
        api = session.api()
        try:
            found = api.list_configmaps_named(SEALING_KEY_CONFIGMAP)
            keys = [_key_row(cm["metadata"].get("namespace", ""), cm) for cm in found]
            not_ready, total = _not_ready(api, None)
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
