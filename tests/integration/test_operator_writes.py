"""API write and read economy, counted from the API server's audit log.

An unchanged resource costs no writes, a changed one costs exactly its projected object and its
status, and a restart over many unchanged resources writes nothing. A steady-state reconcile reads
no projected object (the drift watch's cache answers). kopf
keeps no state on any object: no annotations, no finalizers.
"""

from __future__ import annotations

from collections import Counter

import pytest
from kubernetes import client
from operator_fixtures import (
    GROUP,
    PLURAL,
    VERSION,
    Operator,
    apply_cr,
    get_cr,
    new_key,
    sealed,
    wait_ready,
    wait_status,
)
from operator_launch import OperatorProcess

from ironflow_testbed import eventually
from ironflow_testbed.audit import AuditLog
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures"]
SECRET, CONFIG = "IronflowSecret", "IronflowConfig"
WRITES = ("create", "update", "patch", "delete", "deletecollection")
COUNT = 12


def _writes(audit: AuditLog, user: str) -> Counter[tuple[str, str, str]]:
    found: Counter[tuple[str, str, str]] = Counter()
    for event in audit.events(user=user):
        if event.verb in WRITES and event.resource != "leases":  # leader-election renewals, every 2 s
            found[(event.verb, event.resource, event.subresource)] += 1
    return found


def _reads(audit: AuditLog, user: str, namespace: str) -> Counter[str]:
    """GETs of projected objects (Secrets, ConfigMaps named after resources) in the namespace; the
    published sealing key (ironflow-sealing-key) is not a projection."""
    return Counter(
        event.resource for event in audit.events(user=user)
        if event.verb == "get" and event.resource in ("secrets", "configmaps")
        and event.namespace == namespace and not event.name.startswith("ironflow-")
    )


def _no_kopf_traces(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    objects = [s.metadata for s in core.list_namespaced_secret(namespace).items]
    objects += [c.metadata for c in core.list_namespaced_config_map(namespace).items]
    for kind in (SECRET, CONFIG):
        items = client.CustomObjectsApi(api).list_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL[kind]
        )
        objects += [
            client.V1ObjectMeta(
                **{
                    "annotations": i["metadata"].get("annotations"),
                    "finalizers": i["metadata"].get("finalizers"),
                    "name": i["metadata"]["name"],
                }
            )
            for i in items["items"]
        ]
    for meta in objects:
        assert not any("kopf" in key for key in (meta.annotations or {})), meta.name
        assert not meta.finalizers, meta.name


def _populated(operator: Operator, k8s_api: client.ApiClient, namespace: str,
               audit: AuditLog) -> tuple[str, OperatorProcess]:
    """COUNT IronflowSecrets and COUNT IronflowConfigs applied and Ready, the operator idle and the
    audit log flushed: where counting writes starts."""
    key = new_key()
    operator.set_master_key(key)
    run = operator.start()
    for i in range(COUNT):
        apply_cr(k8s_api, SECRET, namespace, f"s{i}", {f"S{i}": sealed(key, namespace, f"S{i}", f"v{i}")})
        apply_cr(k8s_api, CONFIG, namespace, f"c{i}", {f"C{i}": i})
    for i in range(COUNT):
        wait_ready(k8s_api, SECRET, namespace, f"s{i}")
        wait_ready(k8s_api, CONFIG, namespace, f"c{i}")
    eventually(lambda: run.settled(2 * COUNT), what="operator idle")
    audit.flush(k8s_api, namespace)
    return key, run


def test_given_many_resources_when_changed_untouched_and_restarted_then_writes_are_only_what_results_need(
    operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster
) -> None:
    audit = cluster.audit
    if audit is None:
        pytest.skip("write counts need the audit log of the session's own control plane")
    key, run = _populated(operator, k8s_api, namespace, audit)
    initial = _writes(audit, operator.user)
    # creation: one projected object, one status write per resource, plus the sealing key ConfigMap
    # and the signer anchor (ironflow-signing-key in the operator's namespace)
    assert initial[("create", "secrets", "")] == COUNT
    assert initial[("create", "configmaps", "")] == COUNT + 2
    assert initial[("patch", "ironflowsecrets", "status")] == COUNT
    assert initial[("patch", "ironflowconfigs", "status")] == COUNT
    assert initial[("patch", "secrets", "")] == 0 and initial[("patch", "configmaps", "")] == 0

    # the projected objects come from the drift watch's cache: no reconcile reads one, neither
    # before creating it nor on the echo of our own writes
    reads = _reads(audit, operator.user, namespace)
    assert reads == Counter(), reads

    # a metadata-only touch triggers a reconcile that must write nothing and read nothing
    before = run.metric("ironflow_reconcile_duration_seconds_count")
    client.CustomObjectsApi(k8s_api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL[SECRET], "s0", {"metadata": {"annotations": {"touched": "yes"}}}
    )
    eventually(lambda: run.settled(before + 1), what="the touched resource reconciled")
    audit.flush(k8s_api, namespace)
    assert _writes(audit, operator.user) == initial
    assert _reads(audit, operator.user, namespace) == reads

    # a changed value: exactly its Secret and its status
    version = get_cr(k8s_api, SECRET, namespace, "s1")["status"]["names"]["S1"]["version"]
    apply_cr(k8s_api, SECRET, namespace, "s1", {"S1": sealed(key, namespace, "S1", "changed")})
    wait_status(
        k8s_api,
        SECRET,
        namespace,
        "s1",
        lambda c: c["status"]["names"]["S1"]["version"] != version,
        "new version",
    )
    before = run.metric("ironflow_reconcile_duration_seconds_count")
    eventually(lambda: run.settled(before), what="operator idle after the change")
    audit.flush(k8s_api, namespace)
    delta = _writes(audit, operator.user) - initial
    assert delta == Counter(
        {("patch", "secrets", ""): 1, ("patch", "ironflowsecrets", "status"): 1}
    ), delta
    assert _reads(audit, operator.user, namespace) == reads  # the change, and its echo, read nothing
    after_change = _writes(audit, operator.user)

    # a restart over unchanged resources writes nothing at all
    operator.stop()
    run = operator.start()
    eventually(lambda: run.settled(2 * COUNT), timeout=60, what="every resource reconciled after restart")
    audit.flush(k8s_api, namespace)
    assert _writes(audit, operator.user) == after_change
    # ... and a restart waits for the watch's listing instead of reading each object
    assert _reads(audit, operator.user, namespace) == Counter()
    _no_kopf_traces(k8s_api, namespace)


def test_given_every_value_changed_when_settled_then_each_change_costs_two_writes_and_about_one_reconcile(
    operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster
) -> None:
    """The echoes of the operator's own two writes (projected object, status) queue nothing: a change
    used to run three reconciles, two of them only to find what the first had written."""
    audit = cluster.audit
    if audit is None:
        pytest.skip("write counts need the audit log of the session's own control plane")
    key, run = _populated(operator, k8s_api, namespace, audit)
    before_writes = _writes(audit, operator.user)
    before = run.metric("ironflow_reconcile_duration_seconds_count")

    for i in range(COUNT):
        apply_cr(k8s_api, SECRET, namespace, f"s{i}", {f"S{i}": sealed(key, namespace, f"S{i}", f"w{i}")})
        apply_cr(k8s_api, CONFIG, namespace, f"c{i}", {f"C{i}": 1000 + i})
    for i in range(COUNT):
        for kind, name in ((SECRET, f"s{i}"), (CONFIG, f"c{i}")):
            wait_status(k8s_api, kind, namespace, name, lambda c: c["status"].get("observedGeneration") == 2,
                        "the change reconciled")
    eventually(lambda: run.settled(before + 2 * COUNT), what="operator idle after the change")
    audit.flush(k8s_api, namespace)  # the echoes of the last writes have reached the watches by now
    delta = _writes(audit, operator.user) - before_writes
    assert delta == Counter({
        ("patch", "secrets", ""): COUNT, ("patch", "ironflowsecrets", "status"): COUNT,
        ("patch", "configmaps", ""): COUNT, ("patch", "ironflowconfigs", "status"): COUNT,
    }), delta
    eventually(lambda: run.settled(before + 2 * COUNT), what="operator idle after the echoes")
    reconciles = run.metric("ironflow_reconcile_duration_seconds_count") - before
    # one per change, an echo that overtakes its write's answer included (held until the answer,
    # echoes.py); 1.6 per change under load while such an echo still queued a reconcile, 2.4 before
    # the echoes were recognised at all (58 for 24 changes)
    assert reconciles < 1.5 * 2 * COUNT, reconciles
