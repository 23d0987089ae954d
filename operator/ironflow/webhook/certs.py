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
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ironflow.core import certificates

CA_VALIDITY = datetime.timedelta(days=365)
SERVING_VALIDITY = datetime.timedelta(days=90)
DEFAULT_HOSTS = ("127.0.0.1", "localhost")
PRIVATE = 0o600
PUBLIC = 0o644


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
        ca_key = certificates.new_key()
        ca = certificates.authority(ca_key, f"ironflow-webhook-ca-{int(now.timestamp())}", now, ca_validity)
        write_file(paths.ca_key, certificates.key_pem(ca_key), PRIVATE)
        # New CA first, the previous one kept while it is valid: certificates it signed still verify.
        write_file(paths.ca, b"".join(certificates.cert_pem(c) for c in [ca, *previous]))
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
        key = certificates.new_key()
        subject = certificates.name(hosts[0] if hosts else "ironflow-webhook")
        cert = certificates.issue(ca, ca_key_loaded, key, subject, certificates.SERVER_AUTH, hosts, now,
                                  serving_validity)
        write_file(paths.key, certificates.key_pem(key), PRIVATE)
        write_file(paths.cert, certificates.cert_pem(cert))
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


def write_file(path: Path, data: bytes, mode: int = PUBLIC) -> None:
    """Atomic and never wider than `mode`, not even for a moment.

    A reader (the TLS reload, another process) sees the old file or the new one, never half. The
    temporary file is created afresh with `mode` (a stale one, which could be wider, is removed
    first), so a private key is 0600 from its first byte whatever the umask; `mode` is then set
    exactly, so a public certificate is readable even under a strict umask.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
