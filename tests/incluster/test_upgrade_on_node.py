"""The upgrade path on the node: the previous release (built from git history by
hack/build-previous-release.sh: its own chart, CRDs and image) installed with a few hundred
resources and running workloads, then upgraded to this tree exactly as docs/install.md
"Upgrading" says (CRDs applied first, then `helm upgrade`), then rolled back, while declaring pods
are created throughout: none refused, every resource Ready, no projected value lost or changed,
no workload rolled.

Values are sealed by the previous release's own code (its tree on sys.path in a subprocess), so
the test also proves that what users sealed then still unseals now.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from incluster_support import (
    CHART,
    NAMESPACE,
    RELEASE,
    TIMINGS,
    Helm,
    import_image,
    ironflow,
    operator_pods,
    uninstalled,
    version,
    wait_operator_ready,
)
from kubernetes import client
from node_support import REPORT, pod, pod_spec
from webhook_fixtures import deployment

from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster
from ironflow_testbed.node import Node

ENVIRONMENTS, PER_KIND = 3, 50  # 3 x (50 IronflowSecrets + 50 IronflowConfigs) = 300 resources
LABEL = "ironflow-test/upgrade"
MANAGED = "app.kubernetes.io/managed-by=ironflow-operator"
DECLARES = {"ironflow.io/secrets": "S0", "ironflow.io/configs": "C0"}
MIN_PODS, MAX_PODS, PACE = 100, 800, 0.15  # declaring pods created during each step; seconds apart
CLI_HOME = "cli-upgrade"
NEW_CRDS = CHART / "crds"


@pytest.fixture(scope="module")
def previous() -> Path:
    """The previous release's directory (src/, image.oci.tar, version), built by `make incluster`."""
    where = os.environ.get("IRONFLOW_PREVIOUS_RELEASE_DIR", "")
    assert where and (Path(where) / "done").is_file(), (
        "run through `make incluster` (it builds the previous release: hack/build-previous-release.sh)"
    )
    return Path(where)


@pytest.fixture(scope="module")
def helm(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    assert cluster.bin_dir is not None and (cluster.bin_dir / "helm").is_file(), "run make control-plane"
    return Helm(cluster.bin_dir / "helm", cluster, tmp_path_factory.mktemp("helm-home-upgrade"))


def _seal(previous: Path, key: str, items: list[tuple[str, str, str]]) -> list[str]:
    """Sealed strings for (namespace, name, value), by the previous release's crypto code."""
    script = (
        "import json, sys\n"
        "from ironflow.core.crypto import derive_sealing_key, seal\n"
        "req = json.load(sys.stdin)\n"
        "public = derive_sealing_key(bytes.fromhex(req['key'])).public\n"
        "print(json.dumps([seal(public, ns, n, v.encode()) for ns, n, v in req['items']]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(previous / 'src/operator')!r})\n"
         + script],
        input=json.dumps({"key": key, "items": items}),
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return list(json.loads(result.stdout))


def _manifests(previous: Path, key: str, environments: list[str]) -> tuple[str, dict[str, dict[str, str]]]:
    """The resources and workloads as one YAML stream, and the projected data they must give."""
    docs: list[dict[str, Any]] = []
    expected: dict[str, dict[str, str]] = {}
    values = [(ns, f"S{i}", f"secret-{ns}-{i}-{uuid.uuid4().hex[:8]}")
              for ns in environments for i in range(PER_KIND)]  # fmt: skip
    for (ns, name, value), sealed in zip(values, _seal(previous, key, values), strict=True):
        resource = f"s-{name[1:]}"
        docs.append({"apiVersion": "ironflow.io/v1alpha1", "kind": "IronflowSecret",
                     "metadata": {"name": resource, "namespace": ns, "labels": {LABEL: "1"}},
                     "spec": {"sealed": {name: sealed}}})  # fmt: skip
        expected[f"{ns}/Secret/{resource}"] = {name: value}
    for ns in environments:
        for i in range(PER_KIND):
            value: Any = (f"text {i}", 100 + i, i % 2 == 0, {"retries": i})[i % 4]
            docs.append({"apiVersion": "ironflow.io/v1alpha1", "kind": "IronflowConfig",
                         "metadata": {"name": f"c-{i}", "namespace": ns, "labels": {LABEL: "1"}},
                         "spec": {"values": {f"C{i}": value}}})  # fmt: skip
            projected = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            expected[f"{ns}/ConfigMap/c-{i}"] = {f"C{i}": projected}
        spec = pod_spec(REPORT + "; exec sleep 3600", restart="Always")
        docs.append(deployment("app", DECLARES, spec=spec, namespace=ns, labels={LABEL: "1"}))
    return yaml.safe_dump_all(docs), expected


def _not_ready(cluster: Cluster) -> list[str]:
    listed = json.loads(cluster.kubectl("get", "ironflowsecrets,ironflowconfigs", "-A", "-l", LABEL,
                                        "-o", "json").stdout)["items"]  # fmt: skip
    assert len(listed) == 2 * ENVIRONMENTS * PER_KIND, len(listed)
    bad = []
    for item in listed:
        status = item.get("status") or {}
        ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
        current = status.get("observedGeneration") == item["metadata"]["generation"]
        if not (ready and ready[0]["status"] == "True" and current):
            bad.append(f"{item['metadata']['namespace']}/{item['kind']}/{item['metadata']['name']}: "
                       f"{ready[0].get('reason') if ready else 'no Ready condition'}")  # fmt: skip
    return bad


def _projected(cluster: Cluster, environments: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """What the projected Secrets and ConfigMaps of our resources hold, and their resourceVersions."""
    data: dict[str, dict[str, str]] = {}
    versions: dict[str, str] = {}
    for kind in ("Secret", "ConfigMap"):
        listed = json.loads(
            cluster.kubectl("get", kind.lower() + "s", "-A", "-l", MANAGED, "-o", "json").stdout
        )
        for item in listed["items"]:
            meta = item["metadata"]
            if meta["namespace"] not in environments or not re.fullmatch(r"[sc]-\d+", meta["name"]):
                continue
            raw = item.get("data") or {}
            key = f"{meta['namespace']}/{kind}/{meta['name']}"
            data[key] = {k: base64.b64decode(v).decode() for k, v in raw.items()} if kind == "Secret" else raw
            versions[key] = meta["resourceVersion"]
    return data, versions


def _transport_error(exc: client.ApiException) -> bool:
    """The API server could not reach the webhook at all (a connection the stopping replica closed
    under it: EOF, reset), as opposed to a webhook that answered. The 0.1.0 replicas close their
    kept-alive connections at shutdown without draining them; a pod's controller retries such a
    failed create, so the test does too, once, and reports how often it had to."""
    text = str(exc.body or "")
    return exc.status == 500 and "failed to call webhook" in text and any(
        marker in text for marker in ("EOF", "connection reset", "connection refused"))


def _differences(have: dict[str, dict[str, str]], want: dict[str, dict[str, str]]) -> list[str]:
    """Which projected objects differ from what they must hold: names only, never a value."""
    keys = sorted(set(have) | set(want))
    return [f"{k}: {'missing' if k not in have else 'unexpected' if k not in want else 'differs'}"
            for k in keys if have.get(k) != want.get(k)]  # fmt: skip


def _workloads(cluster: Cluster, environments: list[str]) -> dict[str, tuple[int, str]]:
    """Per environment: the Deployment's generation and its running pod's name (a roll changes both)."""
    out: dict[str, tuple[int, str]] = {}
    for ns in environments:
        deployment = json.loads(cluster.kubectl("get", "deployment", "app", "-n", ns, "-o", "json").stdout)
        pods = json.loads(cluster.kubectl("get", "pods", "-n", ns, "-l", "app=app", "-o", "json").stdout)[
            "items"
        ]
        running = [p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Running"
                   and not p["metadata"].get("deletionTimestamp")]  # fmt: skip
        out[ns] = (deployment["metadata"]["generation"], ",".join(sorted(running)))
    return out


def _injected(created: client.V1Pod) -> bool:
    refs = {e.name: e.value_from for e in created.spec.containers[0].env or [] if e.value_from is not None}
    secret, config = refs.get("S0"), refs.get("C0")
    secret_ok = secret and secret.secret_key_ref and secret.secret_key_ref.name == "s-0"
    config_ok = config and config.config_map_key_ref and config.config_map_key_ref.name == "c-0"
    return bool(secret_ok and config_ok)


def _pods_throughout(api: client.ApiClient, namespace: str, step: str, action: Callable[[], None]) -> str:
    """Run `action` in a thread while declaring pods (bound to a node that does not exist: admitted,
    never run) are created one after another until it ends; assert none refused or uninjected."""
    core = client.CoreV1Api(api)
    done = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # reported by the test thread below
            failure.append(exc)
        finally:
            done.set()

    refused: list[str] = []
    not_injected: list[str] = []
    retried: list[str] = []  # a dropped connection to a stopping replica, retried once (below)
    created = 0
    begin = time.monotonic()
    thread = threading.Thread(target=run, name=step)
    thread.start()
    while created < MAX_PODS and not (done.is_set() and created >= MIN_PODS):
        body = pod(f"{step}-{created}", DECLARES)
        body["spec"]["nodeName"] = "ironflow-upgrade-nowhere"
        for attempt in (1, 2):
            try:
                if not _injected(core.create_namespaced_pod(namespace, body)):
                    not_injected.append(body["metadata"]["name"])
            except client.ApiException as exc:
                if attempt == 1 and _transport_error(exc):
                    retried.append(body["metadata"]["name"])
                    continue
                refused.append(f"{body['metadata']['name']}: {exc.status} {exc.reason} {exc.body}")
            break
        created += 1
        done.wait(PACE)
    covered = done.is_set()
    thread.join(timeout=600)
    took = time.monotonic() - begin
    assert not failure, failure
    assert covered, f"{created} pods created before `{step}` finished: raise MAX_PODS"
    assert refused == [], refused
    assert not_injected == [], not_injected
    core.delete_collection_namespaced_pod(namespace, label_selector="!app", grace_period_seconds=0)
    return (f"{step} took {took:.1f}s while {created} declaring pods were created: 0 refused, 0 uninjected"
            f", {len(retried)} retried once after a dropped webhook connection ({', '.join(retried)})")


def _metrics(cluster: Cluster, pod_name: str) -> str:
    """The pod's /metrics through the API server's pod proxy."""
    path = f"/api/v1/namespaces/{NAMESPACE}/pods/{pod_name}:8080/proxy/metrics"
    return cluster.kubectl("get", "--raw", path).stdout


def _images(cluster: Cluster) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in operator_pods(cluster)}


@pytest.fixture
def environments(cluster: Cluster, k8s_api: client.ApiClient) -> Iterator[list[str]]:
    names = [f"upgrade-{uuid.uuid4().hex[:6]}" for _ in range(ENVIRONMENTS)]
    core = client.CoreV1Api(k8s_api)
    for name in names:
        cluster.kubectl("create", "namespace", name)
        eventually(lambda n=name: core.list_namespaced_service_account(n).items, timeout=60,
                   what=f"the default ServiceAccount of {name}")  # fmt: skip
    try:
        yield names
    finally:
        cluster.kubectl("delete", "namespace", *names, "--wait=false")


def test_given_previous_release_with_300_resources_when_upgraded_as_docs_say_then_rolled_back_nothing_is_lost(
    cluster: Cluster,
    k8s_api: client.ApiClient,
    node: Node,
    helm: Helm,
    previous: Path,
    environments: list[str],
) -> None:
    old_version, new_version = (previous / "version").read_text().strip(), version()
    assert old_version != new_version
    # A clean slate: the previous release's CRDs are the ones installed, as on its users' clusters.
    uninstalled(cluster, helm)
    cluster.kubectl("delete", "-f", str(previous / "src" / "crds"), "--ignore-not-found", "--wait=true")
    begin = time.monotonic()
    imported = import_image(node, previous / "image.oci.tar") + import_image(node)
    TIMINGS.append(f"upgrade: images {old_version} and {new_version} imported in {imported:.1f}s")

    # The previous release, installed as its docs said, with 300 resources and 3 running workloads.
    cluster.kubectl("create", "namespace", NAMESPACE)
    key = ironflow(cluster, "keygen", user=CLI_HOME).strip()
    cluster.kubectl("create", "secret", "generic", "ironflow-master-key", "-n", NAMESPACE,
                    f"--from-literal=IRONFLOW_MASTER_KEY={key}")  # fmt: skip
    step = time.monotonic()
    helm("install", RELEASE, str(previous / "src" / "charts" / "ironflow"), "--namespace", NAMESPACE,
         "--set", "image.pullPolicy=Never", "--wait")  # fmt: skip
    wait_operator_ready(cluster)
    assert _images(cluster) == {f"ghcr.io/ironflow/ironflow-operator:{old_version}"}
    installed = time.monotonic() - step
    stream, expected = _manifests(previous, key, environments)
    step = time.monotonic()
    cluster.kubectl("apply", "-f", "-", input=stream)
    eventually(lambda: not _not_ready(cluster), timeout=300, what="300 resources Ready under the old release")
    try:
        eventually(lambda: _projected(cluster, environments)[0] == expected, timeout=120, what="projected")
    except AssertionError:
        raise AssertionError(_differences(_projected(cluster, environments)[0], expected)[:10]) from None
    for ns in environments:
        cluster.kubectl("rollout", "status", "deployment/app", "-n", ns, "--timeout=120s")
    TIMINGS.append(f"upgrade: {old_version} installed in {installed:.1f}s; 300 resources Ready and 3 "
                   f"workloads running {time.monotonic() - step:.1f}s later")  # fmt: skip
    workloads = _workloads(cluster, environments)
    _, versions_before = _projected(cluster, environments)

    # The upgrade, exactly as docs/install.md "Upgrading" says.
    def upgrade() -> None:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(NEW_CRDS))
        helm("upgrade", RELEASE, str(CHART), "--namespace", NAMESPACE, "--reset-then-reuse-values", "--wait")

    TIMINGS.append("upgrade: " + _pods_throughout(k8s_api, environments[0], "upgrade", upgrade))
    wait_operator_ready(cluster)
    assert _images(cluster) == {f"ghcr.io/ironflow/ironflow-operator:{new_version}"}
    assert _not_ready(cluster) == []
    data, versions_after = _projected(cluster, environments)
    assert _differences(data, expected) == [], "a projected value was lost or changed by the upgrade"
    rewritten = sorted(k for k in versions_before if versions_after.get(k) != versions_before[k])
    assert _workloads(cluster, environments) == workloads, "the upgrade rolled a workload"
    for p in operator_pods(cluster):
        scraped = _metrics(cluster, p["metadata"]["name"])
        assert "\nironflow_crds_outdated 0.0\n" in scraped, scraped
        assert f'version="{new_version}"' in scraped
        # the check ran (the gauge starts at 0): it read the applied CRDs with the chart's RBAC
        logs = cluster.kubectl("logs", "-n", NAMESPACE, p["metadata"]["name"]).stdout
        assert f"CRD ironflowsecrets.ironflow.io is from {new_version}, as the operator" in logs, logs[-2000:]
    TIMINGS.append(f"upgrade: after it, 300/300 Ready, values unchanged, {len(rewritten)} projected "
                   "objects rewritten, no workload rolled, ironflow_crds_outdated 0")  # fmt: skip

    # The new operator acts on what the old one made.
    cluster.kubectl("patch", "ironflowconfig", "c-1", "-n", environments[0], "--type=merge",
                    "-p", json.dumps({"spec": {"values": {"C1": "changed after the upgrade"}}}))  # fmt: skip
    expected[f"{environments[0]}/ConfigMap/c-1"] = {"C1": "changed after the upgrade"}
    eventually(
        lambda: _projected(cluster, environments)[0] == expected, timeout=60, what="the change projected"
    )

    # The way back: `helm rollback` to the previous release; the CRDs stay at the newer version.
    def rollback() -> None:
        helm("rollback", RELEASE, "1", "--namespace", NAMESPACE, "--wait")

    TIMINGS.append("upgrade: " + _pods_throughout(k8s_api, environments[0], "rollback", rollback))
    wait_operator_ready(cluster)
    assert _images(cluster) == {f"ghcr.io/ironflow/ironflow-operator:{old_version}"}
    eventually(lambda: not _not_ready(cluster), timeout=120, what="every resource Ready after the rollback")
    after_rollback = _projected(cluster, environments)[0]
    assert _differences(after_rollback, expected) == [], "a value was lost or changed by the rollback"
    assert _workloads(cluster, environments) == workloads, "the rollback rolled a workload"
    uninstalled(cluster, helm)
    TIMINGS.append(f"upgrade: the whole journey (install, 300 resources, upgrade, rollback, uninstall) took "
                   f"{time.monotonic() - begin:.1f}s")  # fmt: skip
