"""Writes the sealed files of examples/gitops (sealing-key.pem, overlays/*/sealed-secrets.yaml).

Why a script: the example must run as shipped (`kubectl apply -k overlays/dev`), so its sealed
values must unseal with a key the reader can install. That key is examples/gitops/
TEST-ONLY-master-key.txt, derived from a public phrase: it protects nothing and must never seal
a real value. Everything else in the example (the plaintexts below, the throwaway TLS key) exists
only to be sealed for it. tests/integration/test_gitops_example.py imports PLAINTEXT to check
that each environment gets its own values. Run `python hack/gen-gitops-example.py` after
changing the plaintexts; sealing is randomised, so every run changes the files.
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ironflow.cli.manifests import PlainSecret, dump, ironflow_secret
from ironflow.core.crypto import seal
from ironflow.core.sealing_key import derive_sealing_key, sealing_key_configmap_data

EXAMPLE: Final = Path(__file__).resolve().parent.parent / "examples" / "gitops"
ENVIRONMENTS: Final = ("dev", "staging", "prod")
HOST: Final = "web.example.test"


def plaintext(env: str) -> dict[str, str]:
    """The example's secret values per environment: different everywhere, as real ones would be."""
    return {"DB_PASSWORD": f"{env}-db-password-example", "API_TOKEN": f"{env}-api-token-example"}


def registry_auth(env: str) -> dict[str, Any]:
    token = base64.b64encode(f"ci-{env}:example-pull-token".encode()).decode()
    return {"auths": {"registry.example.test": {"auth": token}}}


def master_key() -> bytes:
    return bytes.fromhex((EXAMPLE / "TEST-ONLY-master-key.txt").read_text().strip())


def _self_signed(env: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{env}.{HOST}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key.decode()


def sealed_documents(env: str, public: bytes) -> list[dict[str, Any]]:
    crt, key = _self_signed(env)
    secrets = [
        PlainSecret("app", env, values={k: v.encode() for k, v in plaintext(env).items()}),
        PlainSecret(
            "web-tls",
            env,
            type="kubernetes.io/tls",
            labels={"app.kubernetes.io/name": "web"},
            values={"tls.crt": crt.encode(), "tls.key": key.encode()},
        ),
        PlainSecret(
            "regcred",
            env,
            type="kubernetes.io/dockerconfigjson",
            values={".dockerconfigjson": json.dumps(registry_auth(env)).encode()},
        ),
    ]
    return [
        ironflow_secret(s, env, {n: seal(public, env, n, v) for n, v in s.values.items()}) for s in secrets
    ]


def main() -> int:
    pair = derive_sealing_key(master_key())
    (EXAMPLE / "sealing-key.pem").write_text(sealing_key_configmap_data(pair)["publicKey"] + "\n")
    header = "# Sealed for the TEST-ONLY example key (hack/gen-gitops-example.py); never for real values.\n"
    for env in ENVIRONMENTS:
        docs = sealed_documents(env, pair.public)
        (EXAMPLE / "overlays" / env / "sealed-secrets.yaml").write_text(header + dump(docs, "yaml"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
