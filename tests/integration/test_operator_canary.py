"""Canary scan: plaintext values never reach a log line (DEBUG included), an Event, a CR or its
status, an annotation, a metric, or any request the operator sends except the projected Secret."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from kubernetes import client
from operator_fixtures import (
    GROUP,
    PLURAL,
    VERSION,
    Operator,
    apply_cr,
    new_key,
    sealed,
    secret_data,
    wait_ready,
    wait_status,
)

from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures"]
SECRET = "IronflowSecret"


def _forms(canary: str) -> list[str]:
    return [canary, base64.b64encode(canary.encode()).decode()]


def _without_projected_secret(raw: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The record minus the projected Secret where a LIST response carries it.

    The operator's Secret watcher lists managed Secrets when it starts; if the first
    reconcile wins that race, the list response holds `app` itself, which is the one place
    plaintext belongs. Every other item, and the whole request side, is still scanned."""
    response = raw.get("responseObject")
    if raw.get("objectRef", {}).get("resource") != "secrets" or not isinstance(response, dict):
        return raw
    projected = (namespace, "app")
    items = [
        item
        for item in response.get("items") or []
        if (item.get("metadata", {}).get("namespace"), item.get("metadata", {}).get("name")) != projected
    ]
    return {**raw, "responseObject": {**response, "items": items}}


def test_given_canary_values_through_every_scenario_when_scanned_then_plaintext_appears_only_in_the_secret(
    operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster
) -> None:
    key = new_key()
    tag = uuid.uuid4().hex[:12]
    canaries = {name: f"CANARY-{tag}-{name}" for name in ("GOOD", "CHANGED", "TAMPER", "WRONG", "MOVED")}
    operator.set_master_key(key)
    run = operator.start()

    apply_cr(k8s_api, SECRET, namespace, "app", {"DB": sealed(key, namespace, "DB", canaries["GOOD"])})
    wait_ready(k8s_api, SECRET, namespace, "app")
    apply_cr(k8s_api, SECRET, namespace, "app", {"DB": sealed(key, namespace, "DB", canaries["CHANGED"])})
    wait_status(
        k8s_api,
        SECRET,
        namespace,
        "app",
        lambda c: secret_data(k8s_api, namespace, "app") == {"DB": canaries["CHANGED"]},
        "changed value projected",
    )
    tampered = sealed(key, namespace, "DB", canaries["TAMPER"])
    tampered = tampered[:-3] + ("AAA" if not tampered.endswith("AAA") else "BBB")
    for bad in (
        tampered,
        sealed(new_key(), namespace, "DB", canaries["WRONG"]),
        sealed(key, "other-env", "DB", canaries["MOVED"]),
    ):
        apply_cr(k8s_api, SECRET, namespace, "app", {"DB": bad})
        wait_ready(k8s_api, SECRET, namespace, "app", reason="UnsealFailed")
    operator.set_master_key("0" * 10)
    wait_ready(k8s_api, SECRET, namespace, "app", reason="MasterKeyInvalid")
    operator.delete_master_key()  # NoMasterKey: the stranded-values warning and the no-key publication
    wait_ready(k8s_api, SECRET, namespace, "app", reason="NoMasterKey")
    operator.set_master_key(key)
    apply_cr(k8s_api, SECRET, namespace, "app", {"DB": sealed(key, namespace, "DB", canaries["GOOD"])})
    wait_ready(k8s_api, SECRET, namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == {"DB": canaries["GOOD"]}

    places: dict[str, str] = {"operator log": operator.logs(), "metrics": run.metrics()}
    core, custom = client.CoreV1Api(k8s_api), client.CustomObjectsApi(k8s_api)
    serialize = k8s_api.sanitize_for_serialization
    places["events"] = json.dumps(serialize(core.list_namespaced_event(namespace)))
    places["custom resources"] = json.dumps(
        custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[SECRET])
    )
    metas = [s.metadata for s in core.list_namespaced_secret(namespace).items]
    metas += [c.metadata for c in core.list_namespaced_config_map(namespace).items]
    places["annotations and labels"] = json.dumps(
        [serialize(m.annotations) for m in metas] + [serialize(m.labels) for m in metas]
    )
    places["published keys (sealing key, signer anchor)"] = json.dumps(
        [
            serialize(c.data)
            for c in core.list_namespaced_config_map(namespace).items
            if c.metadata.name != "app"
        ]
        + [
            serialize(
                core.read_namespaced_config_map("ironflow-signing-key", operator.operator_namespace).data
            )
        ]
    )
    audit = cluster.audit
    if audit is not None:
        requests = [
            _without_projected_secret(e.raw, namespace)
            for e in audit.events(user=operator.user)
            if not (e.resource == "secrets" and e.name == "app")
        ]
        assert requests, "the audit log shows no request by the operator"
        places["operator API requests (except the projected Secret)"] = "\n".join(map(json.dumps, requests))
    assert "DEBUG" in places["operator log"], "the scan must cover DEBUG logging"
    leaks = [
        (where, form)
        for canary in canaries.values()
        for form in _forms(canary)
        for where, text in places.items()
        if form in text
    ]
    assert leaks == []
    if audit is None:
        pytest.skip(
            "audit log needed: external cluster (logs, Events, CRs, annotations and metrics were scanned)"
        )


def test_given_dev_mode_plaintext_in_spec_when_scanned_then_it_reaches_only_the_spec_and_the_secret(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    # Dev mode is the one place plaintext sits in a CR (by design, in spec.sealed); the operator
    # must still never copy it into its log (DEBUG), Events, status, annotations or metrics.
    canary = f"CANARY-DEV-{uuid.uuid4().hex[:12]}"
    run = operator.start("--dev-mode")  # no master key: development mode
    apply_cr(k8s_api, SECRET, namespace, "app", {"DB": f"dev:{canary}"})
    wait_ready(k8s_api, SECRET, namespace, "app", reason="DevMode")
    assert secret_data(k8s_api, namespace, "app") == {"DB": canary}
    core, custom = client.CoreV1Api(k8s_api), client.CustomObjectsApi(k8s_api)
    serialize = k8s_api.sanitize_for_serialization
    cr = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[SECRET], "app")
    metas = [s.metadata for s in core.list_namespaced_secret(namespace).items]
    metas += [c.metadata for c in core.list_namespaced_config_map(namespace).items]
    places = {
        "operator log": operator.logs(),
        "metrics": run.metrics(),
        "events": json.dumps(serialize(core.list_namespaced_event(namespace))),
        "status": json.dumps(cr.get("status")),
        "CR metadata": json.dumps(cr["metadata"]),
        "annotations and labels": json.dumps(
            [serialize(m.annotations) for m in metas] + [serialize(m.labels) for m in metas]
        ),
    }
    assert "DEBUG" in places["operator log"]
    assert canary in json.dumps(cr["spec"]), "positive control: the scan finds the value where it is"
    assert [(where, form) for form in _forms(canary) for where, text in places.items() if form in text] == []
