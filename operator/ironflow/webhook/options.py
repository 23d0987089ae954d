"""The operator's pod-webhook options: --webhook-* flags, or IRONFLOW_WEBHOOK_* variables.

The webhook runs only when asked: `--webhook-url` (the API server reaches the operator at that
URL; the operator then makes its own CA and registers the configuration: `make run`, tests) or
`--webhook-cert-dir` with provided tls.crt/tls.key (in-cluster: cert-manager or a Secret, the
chart registers the configuration). Off by default, so an operator started for anything else
never grabs a port or touches admission.

`--webhook-client-ca` (with `--webhook-client-name`) makes the server accept only clients with a
certificate from that CA naming an allowed client: the API server, configured to present one.

The parsed options travel with the operator's own (`controller/state.Options.webhook`) to the
start-up (`startup.PodWebhook`); nothing here keeps them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import click

from ironflow.webhook.certs import DEFAULT_HOSTS
from ironflow.webhook.server import WebhookOptions

F = TypeVar("F", bound=Callable[..., Any])


def webhook_click_options(command: F) -> F:
    """Adds --webhook-host/--webhook-port/--webhook-cert-dir/--webhook-url/--webhook-san to a command."""
    options = [
        click.option(
            "--webhook-url",
            envvar="IRONFLOW_WEBHOOK_URL",
            default=None,
            help="URL the API server calls (e.g. https://127.0.0.1:9443); the operator then "
            "makes its own certificates and registers the webhook configuration.",
        ),
        click.option(
            "--webhook-cert-dir",
            envvar="IRONFLOW_WEBHOOK_CERT_DIR",
            default=None,
            help="Directory with tls.crt/tls.key (provided) or where the operator keeps its own.",
        ),
        click.option(
            "--webhook-cert-secret",
            envvar="IRONFLOW_WEBHOOK_CERT_SECRET",
            default=None,
            help="Self-managed certificates (in-cluster): the leader keeps a CA and serving pair in "
            "this Secret of the operator namespace and sets the configuration's caBundle; every "
            "replica serves the pair from it (copied into --webhook-cert-dir).",
        ),
        click.option(
            "--webhook-host",
            envvar="IRONFLOW_WEBHOOK_HOST",
            default=None,
            help="Bind address (default 127.0.0.1 with --webhook-url, else 0.0.0.0).",
        ),
        click.option(
            "--webhook-port",
            envvar="IRONFLOW_WEBHOOK_PORT",
            type=int,
            default=None,
            help="Port to serve on (default: the URL's port, else 9443).",
        ),
        click.option(
            "--webhook-san",
            envvar="IRONFLOW_WEBHOOK_SANS",
            multiple=True,
            help="Extra names in the self-made serving certificate (repeatable).",
        ),
        click.option(
            "--webhook-client-ca",
            envvar="IRONFLOW_WEBHOOK_CLIENT_CA",
            default=None,
            type=click.Path(exists=True, dir_okay=False),
            help="PEM file of the CA that signs the API server's webhook client certificate; "
            "clients without a certificate from it are refused in the TLS handshake.",
        ),
        click.option(
            "--webhook-client-name",
            envvar="IRONFLOW_WEBHOOK_CLIENT_NAMES",
            multiple=True,
            help="Subject CN or DNS SAN the client certificate must carry (repeatable; "
            "needs --webhook-client-ca). Without it any certificate from that CA is accepted.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def options_from(values: Mapping[str, Any]) -> WebhookOptions | None:
    """None when neither a URL nor a certificate directory asks for the webhook."""
    url, cert_dir = values.get("webhook_url") or None, values.get("webhook_cert_dir") or None
    if url is None and cert_dir is None:
        return None
    parsed = urlparse(url) if url else None
    port = values.get("webhook_port") or (parsed.port if parsed and parsed.port else 9443)
    host = values.get("webhook_host") or ("127.0.0.1" if url else "0.0.0.0")  # noqa: S104 - in-cluster pod
    hosts = list(DEFAULT_HOSTS)
    if parsed and parsed.hostname and parsed.hostname not in hosts:
        hosts.append(parsed.hostname)
    hosts += [h for h in values.get("webhook_san") or () if h not in hosts]
    directory = Path(cert_dir) if cert_dir else Path(tempfile.mkdtemp(prefix="ironflow-webhook-"))
    client_ca = values.get("webhook_client_ca") or None
    client_names = tuple(n for n in values.get("webhook_client_name") or () if n)
    if client_names and client_ca is None:
        raise click.UsageError("--webhook-client-name needs --webhook-client-ca")
    if url and values.get("webhook_cert_secret"):
        raise click.UsageError("--webhook-cert-secret is for serving behind a Service, not --webhook-url")
    return WebhookOptions(
        host=str(host),
        port=int(port),
        cert_dir=directory,
        url=url,
        hosts=tuple(hosts),
        client_ca=Path(client_ca) if client_ca else None,
        client_names=client_names,
        cert_secret=values.get("webhook_cert_secret") or None,
    )
