"""Subject alternative names for serving certificates.

Both the webhook's self-managed certificate and the test control plane's PKI are reached by
address (127.0.0.1 in URL mode) as often as by DNS name, and a client only accepts an IP it
finds as an IPAddress entry, never as a DNSName. One function so the two cannot drift apart.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from cryptography import x509


def subject_alt_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """IP literals become IPAddress entries, everything else DNSName, in the given order."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names
