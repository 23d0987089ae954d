"""Can the API server call the pod webhook? Without it, declaring pods are refused (or, with the
configuration deleted, admitted without their values), so `status` checks what it can see:

- the MutatingWebhookConfiguration `ironflow-pod-declarations` exists;
- each webhook's caBundle parses as PEM certificates and is not expired;
- its endpoint answers: a Service with ready endpoints (installed), or a URL (`make run`) whose
  `/healthz` answers over TLS verified with that very caBundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ironflow.core.ca_bundle import check_ca_bundle
from ironflow.k8s.sync_client import SyncClient
from ironflow.k8s.sync_errors import ClusterUnavailable, Forbidden, NotFound
from ironflow.k8s.sync_webhook import mutating_configuration, service_endpoints, tls_handshake
from ironflow.webhook.configuration import CONFIGURATION_NAME

State = Literal["ok", "problem", "unknown"]


@dataclass
class WebhookCheck:
    state: State
    detail: str
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # one line per webhook: its bundle and endpoint
    notes: list[str] = field(default_factory=list)


def check_webhook(client: SyncClient, now: datetime | None = None) -> WebhookCheck:
    try:
        configuration = mutating_configuration(client, CONFIGURATION_NAME)
    except NotFound:
        return WebhookCheck("problem", f"{CONFIGURATION_NAME} is missing", [
            f"the webhook configuration {CONFIGURATION_NAME} is missing: pods that declare names are "
            "admitted without their values (reinstall the chart or manifests/, or restart the operator)"
        ])
    except Forbidden:
        return WebhookCheck("unknown", f"not allowed to read the webhook configuration {CONFIGURATION_NAME}")
    check = WebhookCheck("ok", "")
    details = []
    for webhook in configuration.get("webhooks") or []:
        name, config = str(webhook.get("name", "")), webhook.get("clientConfig") or {}
        bundle = check_ca_bundle(config.get("caBundle"), now or datetime.now(UTC))
        if not bundle.ok:
            check.problems.append(f"webhook {name}: {bundle.detail}")
        elif bundle.expiring_soon:
            check.notes.append(f"webhook {name}: {bundle.detail}")
        reach, where = _reachable(client, config)
        if reach is not None:
            check.problems.append(f"webhook {name}: endpoint {where} unreachable: {reach}")
        details.append(f"{name}: {bundle.detail}; endpoint {where}" + (" reachable" if reach is None else ""))
    if not details:
        check.problems.append(f"the webhook configuration {CONFIGURATION_NAME} has no webhooks")
    check.state = "problem" if check.problems else "ok"
    check.detail, check.checked = "; ".join(details), details
    return check


def _reachable(client: SyncClient, config: dict[str, Any]) -> tuple[str | None, str]:
    """(None, where) when reachable, else (why not, where)."""
    if config.get("url"):
        return tls_handshake(str(config["url"]), config.get("caBundle")), str(config["url"])
    service = config.get("service") or {}
    ns, name = str(service.get("namespace", "")), str(service.get("name", ""))
    where = f"service {ns}/{name}"
    try:
        endpoints = service_endpoints(client, ns, name)
    except NotFound:
        return "the Service does not exist", where
    except ClusterUnavailable:
        return None, where + " (not checked: not allowed to read it)"
    ready = [e for e in endpoints if (e.get("conditions") or {}).get("ready") is not False]
    return (None if ready else "the Service has no ready endpoints (is the operator running?)"), where

