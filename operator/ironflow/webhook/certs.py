"""Serving certificates for the pod webhook: made and rotated by the operator, or provided.

The API server only calls a webhook over TLS it can verify against the configuration's caBundle.
For `make run` and tests the operator is its own CA: it writes ca.crt/ca.key/tls.crt/tls.key to
the cert directory, renews the serving certificate well before expiry and, when the CA itself
nears expiry, keeps the old CA in the bundle until it lapses so that no admission call fails in
between. In-cluster installs provide the files (cert-manager or a mounted Secret with tls.crt,
tls.key and optionally ca.crt); then the operator never writes, it only reloads what changes.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ironflow.core.tls_names import subject_alt_names

CA_VALIDITY = datetime.timedelta(days=365)
SERVING_VALIDITY = datetime.timedelta(days=90)
SKEW = datetime.timedelta(minutes=5)
DEFAULT_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class CertPaths:
    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def cert(self) -> Path:
        return self.directory / "tls.crt"

    @property
    def key(self) -> Path:
        return self.directory / "tls.key"

    @property
    def provided(self) -> bool:
        """Files someone else manages (cert-manager, a Secret): serve them, never overwrite them."""
        return self.cert.is_file() and self.key.is_file() and not self.ca_key.is_file()


def ensure_certificates(
    paths: CertPaths,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    now: datetime.datetime | None = None,
    ca_validity: datetime.timedelta = CA_VALIDITY,
    serving_validity: datetime.timedelta = SERVING_VALIDITY,
) -> bool:
    """Make or renew what is missing or past two thirds of its life; True when anything changed."""
    if paths.provided:
        return False
    now = now or datetime.datetime.now(datetime.UTC)
    paths.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    changed = False
    ca_certs = _read_certs(paths.ca)
    if not ca_certs or not paths.ca_key.is_file() or _due(ca_certs[0], now, ca_validity):
        previous = [c for c in ca_certs[:1] if c.not_valid_after_utc > now]
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _ca_certificate(ca_key, now, ca_validity)
        _write_key(paths.ca_key, ca_key)
        # New CA first, the previous one kept while it is valid: certificates it signed still verify.
        _atomic_write(paths.ca, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [ca, *previous]))
        changed = True
    ca = _read_certs(paths.ca)[0]
    ca_key_loaded = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key_loaded, ec.EllipticCurvePrivateKey)
    serving = _read_certs(paths.cert)
    if (
        changed
        or not serving
        or not paths.key.is_file()
        or _due(serving[0], now, serving_validity)
        or serving[0].issuer != ca.subject
        or _sans(serving[0]) != sorted(hosts)
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _serving_certificate(key, ca, ca_key_loaded, hosts, now, serving_validity)
        _write_key(paths.key, key)
        _atomic_write(paths.cert, cert.public_bytes(serialization.Encoding.PEM))
        changed = True
    return changed


def ca_bundle(paths: CertPaths) -> bytes | None:
    return paths.ca.read_bytes() if paths.ca.is_file() else None


def not_after(path: Path) -> datetime.datetime | None:
    certs = _read_certs(path)
    return certs[0].not_valid_after_utc if certs else None


def _due(cert: x509.Certificate, now: datetime.datetime, validity: datetime.timedelta) -> bool:
    return cert.not_valid_after_utc - now < validity / 3


def _read_certs(path: Path) -> list[x509.Certificate]:
    if not path.is_file():
        return []
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except ValueError:
        return []


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    ips = [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return sorted(ips + list(ext.get_values_for_type(x509.DNSName)))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_certificate(
    key: ec.EllipticCurvePrivateKey, now: datetime.datetime, validity: datetime.timedelta
) -> x509.Certificate:
    name = _name(f"ironflow-webhook-ca-{int(now.timestamp())}")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )


def _serving_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: Sequence[str],
    now: datetime.datetime,
    validity: datetime.timedelta,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0] if hosts else "ironflow-webhook"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(min(now + validity, ca.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _atomic_write(path, pem, mode=0o600)


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """A reader (the TLS reload, another process) sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
