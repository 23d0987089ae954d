"""Workloads whose pods the webhook refuses, read from where Kubernetes records it.

A Deployment whose pod template declares a name the environment lacks never gets its pods: the
ReplicaSet controller records the webhook's refusal in the ReplicaSet's `ReplicaFailure`
condition (reason FailedCreate). `status` reads those back, and for a missing name gives the
name and the command that defines it.
"""

from __future__ import annotations

from typing import Any, Final

from ironflow.core.injection import missing_from_refusal
from ironflow.core.injection_readiness import unprojected_from_refusal
from ironflow.core.owners import controller_reference
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_workloads import list_workloads

IRONFLOW_WEBHOOKS: Final = ("declarations.pods.ironflow.io", "enforcement.pods.ironflow.io", "ironflow:")


def blocked_workloads(client: SyncClient, namespace: str | None) -> list[dict[str, Any]]:
    rows = []
    for rs in list_workloads(client, "replicasets", namespace):
        failure = next((c for c in (rs.get("status") or {}).get("conditions") or []
                        if c.get("type") == "ReplicaFailure" and c.get("status") == "True"), None)
        message = str((failure or {}).get("message") or "")
        if failure is None or not any(marker in message for marker in IRONFLOW_WEBHOOKS):
            continue
        rows.append(_row(rs, message))
    return sorted(rows, key=lambda r: (r["environment"], r["kind"], r["name"]))


def _row(rs: dict[str, Any], message: str) -> dict[str, Any]:
    meta = rs["metadata"]
    owner = controller_reference(meta)
    kind, name = (owner["kind"], owner["name"]) if owner else ("ReplicaSet", meta["name"])
    namespace = str(meta.get("namespace", ""))
    missing = missing_from_refusal(message)
    if missing is not None:
        env, names = missing
        fixes = [f"ironflow secret set {n} --env {env}" if k == "secret"
                 else f"ironflow config set {n} VALUE --env {env}" for k, n in names]
        return {"kind": kind, "environment": namespace, "name": name,
                "missing": [f"{k} {n}" for k, n in names], "fix": fixes, "message": message}
    unprojected = unprojected_from_refusal(message)
    if unprojected:
        fixes = [f"see why: kubectl describe ironflow{k} {r} -n {namespace}"
                 for k, r in dict.fromkeys((k, r) for k, _, r in unprojected)]
        return {"kind": kind, "environment": namespace, "name": name,
                "missing": [f"{k} {n} (not projected)" for k, n, _ in unprojected], "fix": fixes,
                "message": message}
    fix = ("is the operator running? its webhook did not answer" if "failed calling webhook" in message
           else "see the message (ironflow status --wide)")
    return {"kind": kind, "environment": namespace, "name": name, "missing": [], "fix": [fix],
            "message": message}
