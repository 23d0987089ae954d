"""The envtest CA issues certificates that real TLS clients accept, for exactly the right names."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ironflow_testbed.pki import CertificateAuthority, service_account_keys


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create()


def _handshake(ca_pem: bytes, server_dir: Path, server_hostname: str, tmp_path: Path) -> None:
    """A real TLS handshake over loopback: the client trusts only `ca_pem`."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_dir / "server.crt", server_dir / "server.key")
    (tmp_path / "trust.pem").write_bytes(ca_pem)
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "trust.pem"))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                client_ctx.wrap_socket(raw, server_hostname=server_hostname),
            ):
                pass
        finally:
            thread.join(timeout=5)


def test_given_new_ca_when_inspected_then_self_signed_certificate_authority(ca: CertificateAuthority) -> None:
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True
    assert ca.cert.issuer == ca.cert.subject
    ca.cert.verify_directly_issued_by(ca.cert)


def test_given_serving_cert_when_issued_then_signed_by_ca_for_loopback_names(
    ca: CertificateAuthority,
) -> None:
    cert = x509.load_pem_x509_certificate(ca.issue_serving("api", ("127.0.0.1", "localhost")).cert_pem)
    cert.verify_directly_issued_by(ca.cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_given_client_cert_when_issued_then_user_in_cn_and_groups_in_o(ca: CertificateAuthority) -> None:
    cert = x509.load_pem_x509_certificate(ca.issue_client("alice", ("system:masters", "devs")).cert_pem)
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["alice"]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "system:masters",
        "devs",
    ]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_given_serving_cert_when_tls_client_trusts_ca_then_handshake_succeeds(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    ca.issue_serving("api").write(tmp_path, "server")
    _handshake(ca.keypair.cert_pem, tmp_path, "127.0.0.1", tmp_path)
    _handshake(ca.keypair.cert_pem, tmp_path, "localhost", tmp_path)


def test_given_serving_cert_when_hostname_not_in_sans_then_handshake_fails(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    ca.issue_serving("api").write(tmp_path, "server")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ca.keypair.cert_pem, tmp_path, "example.com", tmp_path)


def test_given_other_ca_when_tls_client_trusts_it_then_handshake_fails(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    ca.issue_serving("api").write(tmp_path, "server")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(CertificateAuthority.create().keypair.cert_pem, tmp_path, "127.0.0.1", tmp_path)


def test_given_keypair_when_written_then_private_key_is_owner_only(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    cert_path, key_path = ca.issue_client("bob").write(tmp_path / "pki", "bob")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert cert_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_given_ca_pem_when_loaded_then_issues_certs_it_verifies(ca: CertificateAuthority) -> None:
    pair = ca.keypair
    loaded = CertificateAuthority.load(pair.cert_pem, pair.key_pem)
    cert = x509.load_pem_x509_certificate(loaded.issue_client("carol").cert_pem)
    cert.verify_directly_issued_by(ca.cert)


def test_given_service_account_keys_when_generated_then_public_key_matches_private() -> None:
    pair = service_account_keys()
    private = serialization.load_pem_private_key(pair.key_pem, password=None)
    public = serialization.load_pem_public_key(pair.cert_pem)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert private.public_key().public_numbers() == public.public_numbers()  # type: ignore[union-attr]
