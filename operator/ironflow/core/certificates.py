"""The one X.509 builder: a certificate authority, and the serving or client certificates it signs.

The webhook's self-managed CA (webhook/certs.py) and the test control plane's PKI
(envtest/pki.py) both issue from here, so the two cannot drift apart in what a CA may sign or
how a serving certificate names its hosts. Pure: keys and times come in, certificates go out;
writing them to disk is the caller's business. EC P-256 keeps a key in the milliseconds.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ironflow.core.tls_names import subject_alt_names

CLOCK_SKEW = datetime.timedelta(minutes=5)  # valid from a little before now: clocks differ
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    """Organizations first, then the CN: the API server reads a client's groups from O."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime, not_after: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
    )


def authority(
    key: ec.EllipticCurvePrivateKey, common_name: str, now: datetime.datetime, validity: datetime.timedelta
) -> x509.Certificate:
    """A self-signed CA that signs end-entity certificates only (path length 0)."""
    subject = name(common_name)
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
    )
    return (
        _builder(subject, subject, key.public_key(), now, now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def issue(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    hosts: Sequence[str],
    now: datetime.datetime,
    validity: datetime.timedelta,
) -> x509.Certificate:
    """An end-entity certificate for `key`, never valid beyond its CA; `hosts` (IPs or DNS names)
    become its subject alternative names."""
    authority_key = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    builder = (
        _builder(subject, ca.subject, key.public_key(), now, min(now + validity, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(authority_key, critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject_alt_names(hosts)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())
