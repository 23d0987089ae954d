"""Two operator replicas against one control plane, each under its own ServiceAccount.

Distinct identities let the audit log attribute every request to a replica. Replica A is the
session's usual operator identity; replica B starts with every permission but the cluster-wide
list of Ironflow resources (its cache sync), so a test can show B not ready until that list is
allowed (`grant_b`). Lease helpers read who leads.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import RULES, Operator, OperatorProcess, bind_cluster_role
from webhook_fixtures import webhook_flags

from ironflow_testbed import eventually
from ironflow_testbed.audit import AuditLog
from ironflow_testbed.cluster import Cluster

LEASE = "ironflow-operator"
WRITES = ("create", "update", "patch", "delete", "deletecollection")
RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass
class Replicas:
    api: client.ApiClient
    a: Operator
    b: Operator
    operator_role: str
    bindings: list[str] = field(default_factory=list)

    def start(
        self, op: Operator, identity: str, *, webhook: bool, wait: bool = True
    ) -> tuple[OperatorProcess, str]:
        """One replica; with `webhook`, its own port and CA (registered only while it leads)."""
        url, flags = webhook_flags(op, op.workdir) if webhook else ("", [])
        return op.start(f"--leader-identity={identity}", *flags, wait=wait), url

    def grant_b(self) -> None:
        """Let B list Ironflow resources cluster-wide, as the chart does for globs or all namespaces."""
        self.bindings.append(_bind(self.api, self.operator_role, self.b))

    def holder(self) -> str:
        try:
            lease = client.CoordinationV1Api(self.api).read_namespaced_lease(LEASE, self.a.operator_namespace)
        except client.ApiException as error:
            if error.status == 404:
                return ""
            raise
        return str(lease.spec.holder_identity or "")

    def wait_holder(self, identity: str, timeout: float = 60) -> float:
        """Seconds until `identity` holds the Lease (polled every 0.1 s)."""
        started = time.monotonic()
        eventually(lambda: self.holder() == identity, timeout=timeout, what=f"{identity} to hold the Lease")
        return time.monotonic() - started


def _bind(api: client.ApiClient, role: str, op: Operator) -> str:
    return bind_cluster_role(api, role, op.user, "ironflow-ha")


def _without_cluster_list() -> list[dict[str, Any]]:
    """RULES, but Ironflow resources only readable one by one: B's cluster-wide list is refused."""
    out = []
    for rule in RULES:
        if "ironflowsecrets" in rule["resources"] and "list" in rule["verbs"]:
            rule = {**rule, "verbs": ["get"]}
        out.append(rule)
    return out


@pytest.fixture
def replicas(
    operator: Operator,
    k8s_api: client.ApiClient,
    cluster: Cluster,
    namespace: str,
    operator_cluster_role: str,
    webhook_cluster_role: str,
    tmp_path: Path,
) -> Iterator[Replicas]:
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    op_ns = operator.operator_namespace
    name = "ironflow-operator-b"
    workdir = tmp_path / "b"
    workdir.mkdir()
    kubeconfig = cluster.service_account_kubeconfig(k8s_api, op_ns, name, workdir / "operator.kubeconfig")
    # B serves the same namespace through a glob (a one-character class: exactly that namespace,
    # not the operator's `<namespace>-op`), so its cache sync is one cluster-wide list
    b = Operator(
        cluster,
        k8s_api,
        [f"{namespace[:-1]}[{namespace[-1]}]"],
        op_ns,
        workdir,
        user=f"system:serviceaccount:{op_ns}:{name}",
        kubeconfig=kubeconfig,
    )
    limited = f"ironflow-ha-limited-{uuid.uuid4().hex[:8]}"
    rbac.create_cluster_role({"metadata": {"name": limited}, "rules": _without_cluster_list()})
    pair = Replicas(k8s_api, operator, b, operator_cluster_role)
    pair.bindings += [
        _bind(k8s_api, limited, b),
        _bind(k8s_api, webhook_cluster_role, b),
        _bind(k8s_api, webhook_cluster_role, operator),
    ]
    # ... while in the served namespace itself B may list and watch (what kopf's watch needs)
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "ironflow-operator-b"},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": operator_cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": op_ns}],
        },
    )
    try:
        yield pair
    finally:
        b.stop()
        operator.stop()
        lines = [line for line in b.logs().splitlines() if " DEBUG   kopf." not in line]
        print("--- replica B log without kopf DEBUG, last 120 lines ---", *lines[-120:], sep="\n")
        for binding in pair.bindings:
            rbac.delete_cluster_role_binding(binding)
        rbac.delete_cluster_role(limited)


def admission_review(url: str, ca: Path, namespace: str, pod: dict[str, Any]) -> dict[str, Any]:
    """POST an AdmissionReview straight to one replica's webhook, trusting only its own CA."""
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": uuid.uuid4().hex, "namespace": namespace, "operation": "CREATE", "object": pod},
    }
    context = ssl.create_default_context(cafile=str(ca))
    request = urllib.request.Request(
        f"{url}/mutate-pods", data=json.dumps(review).encode(), headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    with opener.open(request, timeout=10) as response:
        return dict(json.loads(response.read())["response"])


def writes(audit: AuditLog, user: str) -> Counter[tuple[str, str, str]]:
    """(verb, resource[/subresource], name) -> count of `user`'s successful writes."""
    found: Counter[tuple[str, str, str]] = Counter()
    for event in audit.events(user=user):
        if event.verb in WRITES and 200 <= event.status_code < 300:  # a refused attempt wrote nothing
            resource = event.resource + (f"/{event.subresource}" if event.subresource else "")
            found[(event.verb, resource, event.name)] += 1
    return found


def without_leases(counts: Counter[tuple[str, str, str]]) -> Counter[tuple[str, str, str]]:
    return Counter({key: n for key, n in counts.items() if key[1] != "leases"})
