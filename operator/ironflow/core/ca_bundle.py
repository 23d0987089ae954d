"""Is a webhook configuration's caBundle one the API server can verify the webhook with?

An empty, unparsable or expired bundle means the API server cannot call the webhook, and every
declaring pod is refused; a bundle expiring soon is the same outage announced in advance. Pure:
the bundle arrives as the base64 text of the configuration, and `now` is given.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature

EXPIRY_WARNING = timedelta(days=14)


@dataclass(frozen=True)
class BundleCheck:
    ok: bool
    detail: str
    expires: datetime | None = None
    expiring_soon: bool = False


def check_ca_bundle(encoded: str | None, now: datetime) -> BundleCheck:
    if not encoded:
        return BundleCheck(False, "no caBundle: the API server cannot verify the webhook's certificate")
    try:
        pem = base64.b64decode(encoded, validate=True)
        certificates = x509.load_pem_x509_certificates(pem)
    except (binascii.Error, ValueError):
        return BundleCheck(False, "caBundle is not base64 PEM certificates")
    valid = [c for c in certificates if c.not_valid_before_utc <= now <= c.not_valid_after_utc]
    if not valid:
        last = max(c.not_valid_after_utc for c in certificates)
        return BundleCheck(False, f"caBundle expired on {last:%Y-%m-%d %H:%M} UTC", expires=last)
    expires = max(c.not_valid_after_utc for c in valid)
    soon = expires - now < EXPIRY_WARNING
    detail = f"CA bundle valid until {expires:%Y-%m-%d}"
    return BundleCheck(True, detail + (" (expires soon: renew it)" if soon else ""), expires, soon)


def untrusted(bundles: dict[str, str | None], served_pem: bytes) -> str | None:
    """Why the API server would refuse the served certificate under these caBundles (webhook name ->
    base64 bundle); None when every webhook's bundle holds the CA that signed it. Checked before a
    replica reports ready: a certificate kept from an earlier install, not yet trusted by a freshly
    installed configuration, fails every call with "certificate signed by unknown authority"."""
    try:
        leaf = x509.load_pem_x509_certificates(served_pem)[0]
    except (ValueError, IndexError):
        return "the served certificate is not PEM"
    for name, encoded in sorted(bundles.items()):
        if not encoded:
            return f"webhook {name} has no caBundle yet"
        try:
            cas = x509.load_pem_x509_certificates(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            return f"the caBundle of webhook {name} is not base64 PEM certificates"
        if not any(_issued_by(leaf, ca) for ca in cas):
            return f"the caBundle of webhook {name} does not hold the CA that signed the served certificate"
    return None


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
