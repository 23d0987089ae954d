"""Self-managed webhook certificates: made once, renewed before expiry, provided files left alone."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509

from ironflow.webhook.certs import CertPaths, ensure_certificates

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def test_given_empty_dir_when_ensured_then_ca_and_loopback_serving_cert_signed_by_it(tmp_path: Path) -> None:
    paths = CertPaths(tmp_path)
    assert ensure_certificates(paths, now=NOW)
    cert, ca = _cert(paths.cert), _cert(paths.ca)
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert oct(paths.key.stat().st_mode & 0o777) == "0o600"


def test_given_fresh_certs_when_ensured_again_then_nothing_changes(tmp_path: Path) -> None:
    paths = CertPaths(tmp_path)
    ensure_certificates(paths, now=NOW)
    before = paths.cert.read_bytes()
    assert not ensure_certificates(paths, now=NOW + datetime.timedelta(days=1))
    assert paths.cert.read_bytes() == before


def test_given_serving_cert_near_expiry_when_ensured_then_renewed_under_same_ca(tmp_path: Path) -> None:
    paths = CertPaths(tmp_path)
    ensure_certificates(paths, now=NOW)
    ca_before, cert_before = paths.ca.read_bytes(), paths.cert.read_bytes()
    assert ensure_certificates(paths, now=NOW + datetime.timedelta(days=70))
    assert paths.ca.read_bytes() == ca_before
    assert paths.cert.read_bytes() != cert_before
    _cert(paths.cert).verify_directly_issued_by(_cert(paths.ca))


def test_given_ca_near_expiry_when_ensured_then_new_ca_first_and_old_kept_in_bundle(tmp_path: Path) -> None:
    paths = CertPaths(tmp_path)
    ensure_certificates(paths, now=NOW)
    old_ca = _cert(paths.ca)
    assert ensure_certificates(paths, now=NOW + datetime.timedelta(days=300))
    bundle = x509.load_pem_x509_certificates(paths.ca.read_bytes())
    assert len(bundle) == 2 and bundle[1] == old_ca and bundle[0] != old_ca
    _cert(paths.cert).verify_directly_issued_by(bundle[0])


def test_given_provided_files_without_ca_key_when_ensured_then_never_written(tmp_path: Path) -> None:
    paths = CertPaths(tmp_path)
    paths.cert.write_bytes(b"provided-cert")
    paths.key.write_bytes(b"provided-key")
    assert not ensure_certificates(paths, now=NOW)
    assert paths.cert.read_bytes() == b"provided-cert"
    assert not paths.ca.exists()
