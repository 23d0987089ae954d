"""A throwaway certificate authority for one control plane.

Every control plane gets its own CA so that nothing it trusts was ever trusted by anything else:
a kubeconfig from one test run can never authenticate to another cluster. EC P-256 keys keep
generation in the milliseconds; the service-account key is RSA because that is what every
Kubernetes client and token verifier has supported the longest.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ironflow.core import certificates
from ironflow.core.certificates import key_pem as _key_pem
from ironflow.webhook.certs import PRIVATE, write_file

VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class KeyPair:
    """A certificate with its private key, both PEM-encoded, ready to write or embed."""

    cert_pem: bytes
    key_pem: bytes

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem)
        write_private(key_path, self.key_pem)
        return cert_path, key_path


def write_private(path: Path, data: bytes) -> None:
    """Owner-only from its first byte: the product's writer (one implementation of that promise)."""
    write_file(path, data, PRIVATE)


class CertificateAuthority:
    """Issues the serving and client certificates of one control plane."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self._key = key
        self.cert = cert

    @classmethod
    def create(cls, common_name: str = "ironflow-envtest-ca") -> CertificateAuthority:
        key = certificates.new_key()
        return cls(key, certificates.authority(key, common_name, _now(), VALIDITY))

    @classmethod
    def load(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("the envtest CA key must be an EC key")
        return cls(key, x509.load_pem_x509_certificate(cert_pem))

    @property
    def keypair(self) -> KeyPair:
        return KeyPair(certificates.cert_pem(self.cert), _key_pem(self._key))

    def _issue(self, subject: x509.Name, usage: x509.ObjectIdentifier, hosts: tuple[str, ...]) -> KeyPair:
        key = certificates.new_key()
        cert = certificates.issue(self.cert, self._key, key, subject, usage, hosts, _now(), VALIDITY)
        return KeyPair(certificates.cert_pem(cert), _key_pem(key))

    def issue_serving(self, common_name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> KeyPair:
        """A TLS server certificate; `hosts` may mix IP addresses and DNS names."""
        return self._issue(certificates.name(common_name), certificates.SERVER_AUTH, hosts)

    def issue_client(self, user: str, groups: tuple[str, ...] = ()) -> KeyPair:
        """A client certificate: the API server reads the user from CN and the groups from O."""
        return self._issue(certificates.name(user, groups), certificates.CLIENT_AUTH, ())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def service_account_keys() -> KeyPair:
    """The key pair that signs and verifies service-account tokens (cert_pem holds the public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(public_pem, _key_pem(key))
