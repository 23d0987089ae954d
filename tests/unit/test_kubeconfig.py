"""The operator's own kubeconfig / in-cluster resolution (k8s/kubeconfig.py) and its SSL context."""

from __future__ import annotations

import base64
import datetime
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ironflow.k8s import client_tls
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.kubeconfig import Endpoint, KubeconfigError, resolve


def _pem_pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _write(path: Path, users: list[dict[str, Any]], current: str = "a", **cluster: Any) -> ClusterChoice:
    document = {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443/", **cluster}}],
        "users": users,
        "contexts": [{"name": "a", "context": {"cluster": "c", "user": "ua"}},
                     {"name": "b", "context": {"cluster": "c", "user": "ub"}}],
    }
    path.write_text(yaml.safe_dump(document))
    return ClusterChoice(kubeconfig=str(path), context=None, in_cluster=False)


def test_given_two_contexts_when_resolved_then_current_context_unless_one_is_named(tmp_path: Path) -> None:
    users = [{"name": "ua", "user": {"token": "token-a"}}, {"name": "ub", "user": {"token": "token-b"}}]
    choice = _write(tmp_path / "config", users)
    assert resolve(choice).token == "token-a"
    named = ClusterChoice(kubeconfig=choice.kubeconfig, context="b", in_cluster=False)
    endpoint = resolve(named)
    assert endpoint.token == "token-b"
    assert endpoint.server == "https://127.0.0.1:6443"
    with pytest.raises(KubeconfigError, match="no context named 'zzz'"):
        resolve(ClusterChoice(kubeconfig=choice.kubeconfig, context="zzz", in_cluster=False))


def test_given_data_fields_when_resolved_then_pem_bytes_and_no_paths(tmp_path: Path) -> None:
    cert, key = _pem_pair()
    users = [{"name": "ua", "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}}]
    endpoint = resolve(_write(tmp_path / "config", users, **{"certificate-authority-data": _b64(cert)}))
    assert (endpoint.ca_data, endpoint.certificate_data, endpoint.private_key_data) == (cert, cert, key)
    assert (endpoint.ca_path, endpoint.certificate_path, endpoint.private_key_path) == (None, None, None)


def test_given_relative_paths_when_resolved_then_against_the_kubeconfig_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "token").write_text("first\n")
    users = [{"name": "ua", "user": {"client-certificate": "sub/c.crt", "client-key": "/abs/c.key",
                                      "tokenFile": "token"}}]
    endpoint = resolve(_write(tmp_path / "config", users, **{"certificate-authority": "ca.crt",
                                                             "insecure-skip-tls-verify": True,
                                                             "tls-server-name": "kubernetes"}))
    assert endpoint.ca_path == str(tmp_path / "ca.crt")
    assert endpoint.certificate_path == str(tmp_path / "sub" / "c.crt")
    assert endpoint.private_key_path == "/abs/c.key"
    assert endpoint.insecure and endpoint.tls_server_name == "kubernetes"
    assert endpoint.token_file == str(tmp_path / "token")


@pytest.mark.parametrize(("provider", "plugin"), [
    ("gcp", "gke-gcloud-auth-plugin"), ("azure", "kubelogin"), ("oidc", "oidc-login"),
    ("other", "exec credential plugin"),
])
def test_given_an_auth_provider_user_when_resolved_then_one_line_naming_the_exec_plugin_instead(
    tmp_path: Path, provider: str, plugin: str
) -> None:
    users = [{"name": "ua", "user": {"auth-provider": {"name": provider, "config": {"id-token": "canary"}}}}]
    with pytest.raises(KubeconfigError) as raised:
        resolve(_write(tmp_path / "config", users))
    message = str(raised.value)
    assert "context a" in message and f"auth-provider {provider}" in message and plugin in message
    assert "\n" not in message and "canary" not in message


def test_given_in_cluster_when_resolved_then_service_host_and_the_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-1")
    (tmp_path / "ca.crt").write_text("ca")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    endpoint = resolve(ClusterChoice(kubeconfig=None, context=None, in_cluster=True), env, tmp_path)
    assert endpoint.server == "https://10.0.0.1:443"
    assert endpoint.ca_path == str(tmp_path / "ca.crt")
    assert endpoint.token_file == str(tmp_path / "token") and endpoint.token is None
    with pytest.raises(KubeconfigError, match="KUBERNETES_SERVICE_HOST"):
        resolve(ClusterChoice(kubeconfig=None, context=None, in_cluster=True), {}, tmp_path)


def test_given_a_token_when_the_endpoint_is_printed_then_no_token_shows() -> None:
    assert "canary-token" not in repr(Endpoint(server="https://x", token="canary-token"))


def test_given_key_data_when_the_ssl_context_is_built_then_0600_files_in_a_removed_0700_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _pem_pair()
    monkeypatch.setattr(client_tls.tempfile, "tempdir", str(tmp_path))
    seen: list[tuple[int, int]] = []
    real = client_tls.private_files

    def spying(**contents: bytes) -> Any:
        manager = real(**contents)

        class Spy:
            def __enter__(self) -> dict[str, str]:
                files = manager.__enter__()
                seen.append((stat.S_IMODE(Path(files["client.key"]).parent.stat().st_mode),
                             stat.S_IMODE(Path(files["client.key"]).stat().st_mode)))
                return files

            def __exit__(self, *exc: object) -> None:
                manager.__exit__(*exc)  # type: ignore[arg-type]

        return Spy()

    monkeypatch.setattr(client_tls, "private_files", spying)
    context = client_tls.ssl_context(Endpoint(server="https://x", ca_data=cert, certificate_data=cert,
                                              private_key_data=key))
    assert isinstance(context, ssl.SSLContext)
    assert seen == [(0o700, 0o600)]
    assert list(tmp_path.iterdir()) == []


def test_given_insecure_when_the_ssl_context_is_built_then_no_verification() -> None:
    context = client_tls.ssl_context(Endpoint(server="https://x", insecure=True))
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


@pytest.mark.parametrize(("user", "expected"), [
    ({"auth-provider": {"name": "gcp"}}, "use an exec user with gke-gcloud-auth-plugin"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "interactiveMode": "Never",
               "command": "/nonexistent/aws", "installHint": "install the AWS CLI"}},
     "exec plugin /nonexistent/aws cannot be started: No such file or directory (install the AWS CLI)"),
])
def test_given_an_unusable_user_when_the_operator_starts_then_exit_2_with_one_line(
    tmp_path: Path, user: dict[str, Any], expected: str
) -> None:
    import logging

    from click.testing import CliRunner

    from ironflow.controller.main import main

    choice = _write(tmp_path / "config", [{"name": "ua", "user": user}])
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(main, [f"--kubeconfig={choice.kubeconfig}", "--metrics-port=0",
                                           "--health-port=0"])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 2
    assert expected in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
