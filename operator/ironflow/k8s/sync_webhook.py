"""What the CLI reads to tell whether the API server can call the pod webhook, and the one
connection it opens itself: a TLS handshake with a webhook URL, as the API server would make it.

The handshake lives here with the reads so that the CLI opens no connection of its own: every
socket the CLI process opens is in this package.
"""

from __future__ import annotations

import base64
import socket
import ssl
from typing import Any, Final
from urllib.parse import urlsplit

from ironflow.k8s.paths import core_path, group_path
from ironflow.k8s.sync_client import SyncClient

ADMISSION: Final = "admissionregistration.k8s.io/v1"
DISCOVERY: Final = "discovery.k8s.io/v1"
HANDSHAKE_TIMEOUT: Final = 3.0


def mutating_configuration(client: SyncClient, name: str) -> dict[str, Any]:
    """The MutatingWebhookConfiguration; NotFound or Forbidden as the API server answers."""
    return client.request("GET", group_path(ADMISSION, "mutatingwebhookconfigurations", name=name))


def service_endpoints(client: SyncClient, namespace: str, name: str) -> list[dict[str, Any]]:
    """Every endpoint of the Service's EndpointSlices (ready or not); NotFound when the Service
    does not exist."""
    client.request("GET", core_path("services", namespace, name))
    slices = client.request(
        "GET", group_path(DISCOVERY, "endpointslices", namespace),
        query=[("labelSelector", f"kubernetes.io/service-name={name}")],
    ).get("items") or []
    return [e for s in slices for e in s.get("endpoints") or []]


def tls_handshake(url: str, ca_bundle: str | None, timeout: float = HANDSHAKE_TIMEOUT) -> str | None:
    """None when the URL's host completes a TLS handshake verified with this caBundle, else why
    not: the part of the API server's call that fails when the endpoint is down or the bundle
    does not match."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"{url} is not an https URL"
    try:
        cadata = base64.b64decode(ca_bundle or "").decode() or None
        context = ssl.create_default_context(cadata=cadata)
        with (socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw,
              context.wrap_socket(raw, server_hostname=parts.hostname)):
            return None
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        return " ".join(str(getattr(exc, "reason", None) or exc).split()) or type(exc).__name__
