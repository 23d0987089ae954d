"""Serving-certificate names: clients match an address only against IPAddress entries."""

import ipaddress

from cryptography import x509

from ironflow.core.tls_names import subject_alt_names


def test_given_ip_literals_and_dns_names_when_built_then_each_gets_its_own_type_in_order() -> None:
    names = subject_alt_names(["127.0.0.1", "ironflow-webhook.ops.svc", "::1", "localhost"])

    assert names == [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("ironflow-webhook.ops.svc"),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.DNSName("localhost"),
    ]


def test_given_no_hosts_when_built_then_no_names() -> None:
    assert subject_alt_names([]) == []
