"""A CRD without Ironflow's schema and policy, for one test: what a cluster with an old or
hand-applied CRD has, so the API server stores bodies crds/ would refuse. crds/ is applied again
afterwards, and the test waits until it enforces again, so nothing leaks into other tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
POLICY_BINDING = "ironflowconfig-names.ironflow.io"
VALUES_BINDING = "ironflowconfig-values.ironflow.io"  # on Kubernetes 1.35+ only (crds/kubernetes-1.35/)
CONFIG, SECRET = "IronflowConfig", "IronflowSecret"
STRING_SPEC = "just-a-string"


def _manifest(kind: str, name: str, spec_json: str) -> str:
    return (f'{{"apiVersion": "ironflow.io/v1alpha1", "kind": "{kind}", "metadata": {{"name": "{name}"}}, '
            f'"spec": {spec_json}}}')


def _accepted(cluster: Cluster, manifest: str) -> bool:
    create = ("create", "--dry-run=server", "-n", "default", "-f", "-")
    return cluster.kubectl(*create, input=manifest, check=False).returncode == 0


DEEP_VALUE = "[" * 1000 + "1" + "]" * 1000  # the hostile case: Python's json cannot even encode it
DEEP_CONFIG = _manifest(CONFIG, "deep", '{"values": {"OK": 1, "DEEP": ' + DEEP_VALUE + "}}")
STRING_SECRET = _manifest(SECRET, "bad", json.dumps(STRING_SPEC))


@pytest.fixture
def schemaless_crds(cluster: Cluster, crds: list[str]) -> Iterator[None]:
    """Both CRDs without schema and the config policy unbound, as a hand-applied old CRD would be."""
    docs: list[dict[str, Any]] = []
    for path in sorted(CRD_DIR.glob("ironflow.io_ironflow*s.yaml")):
        doc = yaml.safe_load(path.read_text())
        doc["spec"]["versions"][0]["schema"] = {
            "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        }
        docs.append(doc)
    binding = ("validatingadmissionpolicybinding", VALUES_BINDING)
    values_bound = cluster.kubectl("get", *binding, check=False).returncode == 0
    try:
        cluster.kubectl.apply_text(yaml.safe_dump_all(docs))
        cluster.kubectl("delete", "validatingadmissionpolicybinding", POLICY_BINDING, VALUES_BINDING,
                        "--ignore-not-found")
        eventually(lambda: _accepted(cluster, DEEP_CONFIG) and _accepted(cluster, STRING_SECRET),
                   timeout=30, what="the API server to accept bodies without schema")
        yield
    finally:
        cluster.kubectl.apply(*sorted(CRD_DIR.glob("*.yaml")))
        if values_bound:
            cluster.kubectl.apply(*sorted((CRD_DIR / "kubernetes-1.35").glob("*.yaml")))
        eventually(lambda: not _accepted(cluster, DEEP_CONFIG) and not _accepted(cluster, STRING_SECRET),
                   timeout=30, what="crds/ enforcing again")





def create_raw(cluster: Cluster, namespace: str, manifest: str) -> None:
    """Through kubectl: the Python client would refuse to send some of these bodies."""
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=manifest)


def hostile_manifests() -> dict[str, str]:
    """Resource name -> a body only a CRD without schema stores: each shape a spec may wrongly take."""
    shapes = {
        (SECRET, "bad-string"): json.dumps(STRING_SPEC),
        (SECRET, "bad-number"): "5",
        (SECRET, "bad-list"): "[1, 2]",
        (SECRET, "bad-sealed-string"): '{"sealed": "x"}',
        (SECRET, "bad-sealed-list"): '{"sealed": [1]}',
        (SECRET, "bad-sealed-value"): '{"sealed": {"NOT_SEALED": 5}}',
        (CONFIG, "bad-config-string"): json.dumps(STRING_SPEC),
        (CONFIG, "bad-values-list"): '{"values": [1]}',
    }
    return {name: _manifest(kind, name, spec) for (kind, name), spec in shapes.items()}


KINDS_OF = {name: SECRET if not name.startswith(("bad-config", "bad-values")) else CONFIG
            for name in hostile_manifests()}
