"""The MutatingWebhookConfiguration, rendered from parameters as plain data.

One function renders it for the operator (URL client config on loopback, for `make run` and
tests) and for the chart (service client config; `python -m ironflow.webhook.configuration`
prints the YAML the template must match), so the blast radius is decided in one place:

- only pods whose annotations declare names are sent (matchConditions), so an operator outage
  never blocks a pod that declares nothing, while declared pods fail closed (failurePolicy Fail);
- the operator's own namespace and kube-system are never sent (namespaceSelector), so the
  operator can always restart itself and the cluster can always heal;
- enforced environments (namespace label) additionally send pods that reference any Secret,
  because only then can the webhook see a pod reaching a managed Secret around its declaration.
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ironflow.core.declarations import DECLARING_ANNOTATIONS
from ironflow.core.enforcement import ENFORCE_LABEL

CONFIGURATION_NAME = "ironflow-pod-declarations"
DECLARATIONS_WEBHOOK = "declarations.pods.ironflow.io"
ENFORCEMENT_WEBHOOK = "enforcement.pods.ironflow.io"
MUTATE_PATH = "/mutate-pods"
ENFORCE_PATH = "/enforce-pods"
TIMEOUT_SECONDS = 5

_ANN = "has(object.metadata.annotations)"
DECLARES_EXPRESSION = (
    f"{_ANN} && (" + " || ".join(f"'{a}' in object.metadata.annotations" for a in DECLARING_ANNOTATIONS) + ")"
)

_ENV_SECRET = "has(c.env) && c.env.exists(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef))"
_ENVFROM_SECRET = "has(c.envFrom) && c.envFrom.exists(e, has(e.secretRef))"
_CONTAINER = f"({_ENV_SECRET}) || ({_ENVFROM_SECRET})"
REFERENCES_SECRET_EXPRESSION = " || ".join(
    [
        f"object.spec.containers.exists(c, {_CONTAINER})",
        f"(has(object.spec.initContainers) && object.spec.initContainers.exists(c, {_CONTAINER}))",
        f"(has(object.spec.ephemeralContainers) && object.spec.ephemeralContainers.exists(c, {_CONTAINER}))",
        "(has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.secret) || (has(v.projected)"
        " && has(v.projected.sources) && v.projected.sources.exists(s, has(s.secret)))))",
    ]
)


@dataclass(frozen=True)
class ClientTarget:
    """Where the API server reaches the webhook: a URL (loopback, dev) or an in-cluster Service."""

    url: str | None = None
    service_namespace: str | None = None
    service_name: str | None = None
    service_port: int = 443

    def client_config(self, path: str, ca_bundle: bytes | None) -> dict[str, Any]:
        config: dict[str, Any]
        if self.url is not None:
            config = {"url": self.url.rstrip("/") + path}
        else:
            config = {
                "service": {
                    "namespace": self.service_namespace,
                    "name": self.service_name,
                    "path": path,
                    "port": self.service_port,
                }
            }
        if ca_bundle:
            config["caBundle"] = base64.b64encode(ca_bundle).decode()
        return config


@dataclass(frozen=True)
class WebhookParameters:
    target: ClientTarget
    operator_namespace: str
    ca_bundle: bytes | None = None
    name: str = CONFIGURATION_NAME
    excluded_namespaces: Sequence[str] = field(default_factory=lambda: ("kube-system",))
    labels: dict[str, str] = field(
        default_factory=lambda: {"app.kubernetes.io/managed-by": "ironflow-operator"}
    )


def render_configuration(p: WebhookParameters) -> dict[str, Any]:
    excluded = sorted({p.operator_namespace, *p.excluded_namespaces})
    not_excluded = {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded}
    common: dict[str, Any] = {
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "timeoutSeconds": TIMEOUT_SECONDS,
        "rules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ],
    }
    declarations = {
        "name": DECLARATIONS_WEBHOOK,
        "clientConfig": p.target.client_config(MUTATE_PATH, p.ca_bundle),
        **common,
        "reinvocationPolicy": "IfNeeded",
        "namespaceSelector": {"matchExpressions": [not_excluded]},
        "matchConditions": [{"name": "declares-names", "expression": DECLARES_EXPRESSION}],
    }
    enforcement = {
        "name": ENFORCEMENT_WEBHOOK,
        "clientConfig": p.target.client_config(ENFORCE_PATH, p.ca_bundle),
        **common,
        # `kubectl debug` adds containers to a running pod through this subresource: in an enforced
        # environment they must not reach managed Secrets around the declaration either.
        "rules": [
            *common["rules"],
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["UPDATE"],
                "resources": ["pods/ephemeralcontainers"],
                "scope": "Namespaced",
            },
        ],
        "reinvocationPolicy": "IfNeeded",
        "namespaceSelector": {
            "matchLabels": {ENFORCE_LABEL: "true"},
            "matchExpressions": [not_excluded],
        },
        "matchConditions": [
            {
                "name": "declares-or-references-secrets",
                "expression": f"({DECLARES_EXPRESSION}) || {REFERENCES_SECRET_EXPRESSION}",
            }
        ],
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": p.name, "labels": dict(p.labels)},
        "webhooks": [declarations, enforcement],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the configuration YAML (the chart template renders the same with Helm values)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--operator-namespace", default="ironflow-system")
    parser.add_argument("--url")
    parser.add_argument("--service-name", default="ironflow-webhook")
    parser.add_argument("--service-port", type=int, default=443)
    parser.add_argument("--ca-file")
    args = parser.parse_args(argv)
    target = (
        ClientTarget(url=args.url)
        if args.url
        else ClientTarget(
            service_namespace=args.operator_namespace,
            service_name=args.service_name,
            service_port=args.service_port,
        )
    )
    ca = open(args.ca_file, "rb").read() if args.ca_file else None  # noqa: SIM115
    body = render_configuration(
        WebhookParameters(target=target, operator_namespace=args.operator_namespace, ca_bundle=ca)
    )
    sys.stdout.write(yaml.safe_dump(body, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
