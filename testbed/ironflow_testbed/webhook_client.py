"""The API server's client certificate for admission webhooks, as a real cluster should have one.

By default an API server calls webhooks without presenting any certificate, so a webhook cannot
tell it from any other caller. Given an admission configuration whose
`WebhookAdmissionConfiguration` names a kubeconfig, it presents the credentials listed there for
the webhook's host. Webhook ports differ from test to test, so the entry is the kubeconfig's
default `*` (exact `host:port` entries take precedence; there are none here): every webhook this
throwaway API server calls gets the certificate below, signed by the control plane's CA.
Tests then start the operator with `--webhook-client-ca <ca.crt> --webhook-client-name
WEBHOOK_CLIENT_USER`, and a caller without this certificate is refused in the TLS handshake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import yaml

from ironflow_testbed.components import Layout
from ironflow_testbed.pki import CertificateAuthority

WEBHOOK_CLIENT_USER: Final = "kube-apiserver-webhook-client"
FILES: Final = ("admission-config.yaml", "webhook-client.kubeconfig")


def admission_config_path(layout: Layout) -> Path:
    return layout.root / FILES[0]


def write_webhook_client_config(ca: CertificateAuthority, layout: Layout) -> Path:
    """Issue the certificate, write its kubeconfig and the admission configuration naming it."""
    cert, key = ca.issue_client(WEBHOOK_CLIENT_USER).write(layout.pki, "webhook-client")
    kubeconfig = layout.root / FILES[1]
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "users": [{"name": "*", "user": {"client-certificate": str(cert), "client-key": str(key)}}],
            }
        )
    )
    webhook = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "WebhookAdmissionConfiguration",
        "kubeConfigFile": str(kubeconfig),
    }
    path = admission_config_path(layout)
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apiserver.config.k8s.io/v1",
                "kind": "AdmissionConfiguration",
                "plugins": [
                    {"name": "MutatingAdmissionWebhook", "configuration": webhook},
                    {"name": "ValidatingAdmissionWebhook", "configuration": webhook},
                ],
            }
        )
    )
    return path
