"""Who may call the webhook: a client certificate from the configured CA, naming an allowed client.

The API server presents a client certificate to webhooks when its admission configuration says
so (a `WebhookAdmissionConfiguration` whose kubeConfigFile names a certificate for the webhook's
host; docs/install.md). The CA check happens in the TLS handshake; the name check (subject CN or
a DNS SAN) happens on the verified certificate, because one cluster CA usually signs many client
certificates (users, kubelets, controllers) and only the API server's may call.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ClientCa:
    """The client CA file, loaded into the serving context and re-read when it changes.

    An SSLContext can add CAs but not drop them: a CA added to the file is trusted at once, one
    removed from it stays trusted until the operator restarts (docs/install.md says so).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime = 0.0

    def require(self, context: ssl.SSLContext) -> None:
        """Every handshake must present a certificate this CA signed, or it fails."""
        context.verify_mode = ssl.CERT_REQUIRED
        self._load(context)

    def reload_if_changed(self, context: ssl.SSLContext) -> bool:
        if self.path.stat().st_mtime == self._mtime:
            return False
        self._load(context)
        return True

    def _load(self, context: ssl.SSLContext) -> None:
        self._mtime = self.path.stat().st_mtime
        context.load_verify_locations(cafile=str(self.path))


def client_name_allowed(peercert: Any, allowed: Sequence[str]) -> bool:
    """True when no names are required, or the verified certificate's CN or a DNS SAN is one of them."""
    if not allowed:
        return True
    if not isinstance(peercert, dict):
        return False
    names = {value for rdn in peercert.get("subject", ()) for key, value in rdn if key == "commonName"}
    names |= {value for key, value in peercert.get("subjectAltName", ()) if key == "DNS"}
    return bool(names & set(allowed))
