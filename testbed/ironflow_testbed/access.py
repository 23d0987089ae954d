"""Limited identities for RBAC tests: a namespaced ServiceAccount with exactly the given rules.

Service-account tokens (TokenRequest API) work on any cluster, ours or one named with
--kubeconfig, unlike client certificates which need the cluster's CA key. The resulting
kubeconfig reuses the admin kubeconfig's server and CA, never anything from the environment.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from ironflow_testbed import kubeconfig


def cluster_of(admin_kubeconfig: Path) -> tuple[str, bytes]:
    """Server URL and CA bundle (PEM) of the current context of a kubeconfig file."""
    config = yaml.safe_load(admin_kubeconfig.read_text())
    context_name = config["current-context"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"])
    else:
        ca = (admin_kubeconfig.parent / cluster["certificate-authority"]).read_bytes()
    return str(cluster["server"]), ca


def grant(
    api: client.ApiClient, namespace: str, name: str, rules: list[dict[str, Any]], subject: dict[str, str]
) -> None:
    """Create Role `name` with `rules` and bind it to `subject` in `namespace`."""
    rbac = client.RbacAuthorizationV1Api(api)
    meta = client.V1ObjectMeta(name=name)
    policy = [client.V1PolicyRule(**{_snake(k): v for k, v in rule.items()}) for rule in rules]
    rbac.create_namespaced_role(namespace, client.V1Role(metadata=meta, rules=policy))
    rbac.create_namespaced_role_binding(
        namespace,
        client.V1RoleBinding(
            metadata=meta,
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=name),
            subjects=[client.RbacV1Subject(**subject)],
        ),
    )


def _snake(key: str) -> str:
    """`apiGroups` -> `api_groups`: rules are written as in YAML, the client wants Python names."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def service_account_kubeconfig(
    api: client.ApiClient,
    admin_kubeconfig: Path,
    namespace: str,
    name: str,
    path: Path,
    rules: list[dict[str, Any]] | None = None,
    expiration_seconds: int = 3600,
) -> Path:
    """Create ServiceAccount `name` in `namespace`, grant it `rules` there, write its kubeconfig.

    The user the API server sees is `system:serviceaccount:<namespace>:<name>`.
    """
    core = client.CoreV1Api(api)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
    )
    if rules:
        grant(api, namespace, name, rules, {"kind": "ServiceAccount", "name": name, "namespace": namespace})
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
    )
    status = core.create_namespaced_service_account_token(name, namespace, request).status
    if status is None or not status.token:
        raise RuntimeError(f"TokenRequest for {namespace}/{name} returned no token")
    token = status.token
    server, ca = cluster_of(admin_kubeconfig)
    config = kubeconfig.build(server, ca, user=f"{namespace}-{name}", token=str(token), namespace=namespace)
    return kubeconfig.write(path, config)
