"""`ironflow secret reseal` against the real API server and operator: a whole
rotation without plaintext input (rotate -> reseal resources and files -> nothing on the old key ->
retire -> values still project), the writer role required, and the canary scan of the reseal path.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, assert_one_line_error, spec_map
from kubernetes import client
from operator_fixtures import (
    GROUP,
    PLURAL,
    VERSION,
    Operator,
    configmap_data,
    get_cr,
    new_key,
    secret_data,
    wait_ready,
    wait_status,
)

from ironflow.core.crypto import derive_sealing_key, parse_sealed
from ironflow.core.reseal import RESEAL_ONLY_LABEL
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["cli_fixtures", "operator_fixtures"]
SECRETS = "ironflowsecrets"
SECRET = "IronflowSecret"

FILE = """\
# Production secrets: edited by `ironflow secret seal`, re-sealed by `ironflow secret reseal -f`.
apiVersion: v1
kind: ConfigMap
metadata: {{name: unrelated, namespace: {ns}}}
data:
  note: "kept byte for byte"   # a comment that must survive
---
apiVersion: ironflow.io/v1alpha1
kind: IronflowSecret
metadata:
  name: files
  namespace: {ns}
spec:
  sealed:
    # the database password
    C: {c}
    D:   {d}
"""


def _published(api: client.ApiClient, namespace: str) -> str | None:
    return (configmap_data(api, namespace, "ironflow-sealing-key") or {}).get("keyId")


def _started(operator: Operator, api: client.ApiClient, namespace: str, kid: str) -> None:
    """The operator publishes the key and its signer anchor (the CLI authenticates with it)."""
    operator.start()
    eventually(lambda: _published(api, namespace) == kid, what="key published")
    eventually(
        lambda: configmap_data(api, operator.operator_namespace, "ironflow-signing-key") is not None,
        what="signer anchor published",
    )


def _older(cli: Cli, namespace: str) -> Any:
    # exit 4 says something else needs attention (no pod webhook here): the keys are what counts
    row = json.loads(cli("status", "--env", namespace, "-o", "json").stdout)["keys"][0]
    return row.get("olderKeys")


def _kids(api: client.ApiClient, namespace: str, name: str) -> set[str]:
    return {parse_sealed(value).kid for value in spec_map(api, namespace, SECRETS, name).values()}


def _versions(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    names = get_cr(api, SECRET, namespace, name)["status"]["names"]
    return {n: fact.get("version") for n, fact in names.items()}


def _reseal_only(api: client.ApiClient, namespace: str) -> list[Any]:
    custom = client.CustomObjectsApi(api)
    found = custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, SECRETS, label_selector=f"{RESEAL_ONLY_LABEL}=true"
    )
    return list(found["items"])


def test_given_values_on_the_old_key_when_rotated_resealed_and_retired_then_no_plaintext_input_all_project(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster, tmp_path: Path
) -> None:
    key = new_key()
    old_kid = derive_sealing_key(bytes.fromhex(key)).kid
    tag = uuid.uuid4().hex[:12]
    canary = {name: f"CANARY-{tag}-{name}" for name in ("A", "B", "C", "D", "E")}
    operator.set_master_key(key)
    _started(operator, k8s_api, namespace, old_kid)
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace
    # The only plaintext input of the whole test: values set and sealed under the first key.
    cli.ok("secret", "set", "A", canary["A"], "--env", namespace)
    cli.ok("secret", "set", "B", canary["B"], "--env", namespace, "-r", "other")
    sealed = {n: cli.ok("secret", "seal", n, canary[n], "--env", namespace).stdout.strip() for n in "CDE"}
    manifests = tmp_path / "gitops"
    manifests.mkdir()
    good = manifests / "secrets.yaml"
    good.write_text(FILE.format(ns=namespace, c=sealed["C"], d=sealed["D"]))
    original = good.read_text()
    bad = tmp_path / "moved.yaml"  # E's value pasted under another NAME: must not unseal there
    bad.write_text(FILE.format(ns=namespace, c=sealed["C"], d=sealed["E"]).replace("files", "moved"))
    wait_ready(k8s_api, SECRET, namespace, "app")
    wait_ready(k8s_api, SECRET, namespace, "other")

    new_kid = json.loads(cli.ok("key", "rotate", "-o", "json").stdout)["keyId"]
    eventually(lambda: _published(k8s_api, namespace) == new_kid, what="rotated key published")
    assert _older(cli, namespace) == {old_kid: 2}

    versions = _versions(k8s_api, namespace, "app")
    runs = [cli.ok("secret", "reseal", "--env", namespace, "-o", "json")]
    rows = {row["target"]: row for row in json.loads(runs[0].stdout)["results"]}
    assert {t: (r["resealed"], r["skipped"], r["failed"]) for t, r in rows.items()} == {
        f"{namespace}/app": (1, 0, []),
        f"{namespace}/other": (1, 0, []),
    }
    assert _kids(k8s_api, namespace, "app") == {new_kid} and _kids(k8s_api, namespace, "other") == {new_kid}
    assert _older(cli, namespace) is None  # 0 values left on the old key
    generation = get_cr(k8s_api, SECRET, namespace, "app")["metadata"]["generation"]
    wait_status(k8s_api, SECRET, namespace, "app", lambda cr: True, f"generation {generation} observed")
    assert _versions(k8s_api, namespace, "app") == versions  # same plaintext: no workload rolls

    runs.append(cli.ok("secret", "reseal", "-f", str(manifests), "-o", "json"))
    (row,) = json.loads(runs[-1].stdout)["results"]
    assert (row["resealed"], row["skipped"], row["failed"], row["keyId"]) == (2, 0, [], new_kid)
    text = good.read_text()
    new_c, new_d = (line.split()[-1] for line in text.splitlines() if line.strip().startswith(("C:", "D:")))
    assert {parse_sealed(new_c).kid, parse_sealed(new_d).kid} == {new_kid}
    assert text == original.replace(sealed["C"], new_c).replace(sealed["D"], new_d)  # nothing else moved
    runs.append(cli.ok("secret", "reseal", "-f", str(good), "-o", "json"))  # idempotent
    assert json.loads(runs[-1].stdout)["results"][0]["resealed"] == 0 and good.read_text() == text

    runs.append(cli("secret", "reseal", "-f", str(bad)))
    assert runs[-1].code == 1 and "moved/D: AuthenticationFailed" in runs[-1].stdout, runs[-1]
    assert sealed["E"] in bad.read_text() and sealed["C"] not in bad.read_text()  # E's value left as it was
    eventually(lambda: _reseal_only(k8s_api, namespace) == [], what="temporary resources deleted")

    cluster.kubectl.apply(good)
    wait_ready(k8s_api, SECRET, namespace, "files")
    cli.ok("key", "retire", old_kid)
    for name, expected in {
        "app": {"A": canary["A"]},
        "other": {"B": canary["B"]},
        "files": {"C": canary["C"], "D": canary["D"]},
    }.items():
        wait_ready(k8s_api, SECRET, namespace, name)
        assert secret_data(k8s_api, namespace, name) == expected
    again = json.loads(cli.ok("secret", "reseal", "--env", namespace, "-o", "json").stdout)["results"]
    assert [(r["resealed"], r["skipped"]) for r in again] == [(0, 1), (0, 2), (0, 1)]

    # The canary scan of the reseal path: logs (DEBUG), Events, CRs and their status, CLI output,
    # and every request and response in the audit log except the projected Secrets themselves.
    core = client.CoreV1Api(k8s_api)
    places = {
        "operator log": operator.logs(),
        "events": json.dumps(k8s_api.sanitize_for_serialization(core.list_namespaced_event(namespace))),
        "custom resources": json.dumps(
            client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL[SECRET]
            )
        ),
        "reseal output": "\n".join(run.stdout + run.stderr for run in runs),
    }
    events = [e.message for e in core.list_namespaced_event(namespace).items if e.reason == "Resealed"]
    assert any("re-sealed 1 value(s)" in message for message in events)
    audit = cluster.audit
    if audit is not None:  # without it the rest is scanned, then the test says what it missed
        projected = {"app", "other", "files"}
        reseal_requests = [
            e for e in audit.events() if e.resource == SECRETS and e.verb in ("create", "patch")
        ]
        assert reseal_requests, "the audit log shows the reseal requests"
        places["audit log"] = "\n".join(
            json.dumps(e.raw) for e in audit.events() if not (e.resource == "secrets" and e.name in projected)
        )
    assert "DEBUG" in places["operator log"]
    leaks = [
        (where, name) for name, value in canary.items() for where, text in places.items() if value in text
    ]
    assert leaks == []
    if audit is None:
        pytest.skip("audit log needed: external cluster (logs, Events, resources and output were scanned)")


def test_given_an_identity_without_the_writer_role_when_it_asks_for_a_reseal_then_it_is_refused(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster, tmp_path: Path
) -> None:
    key = new_key()
    operator.set_master_key(key)
    _started(operator, k8s_api, namespace, derive_sealing_key(bytes.fromhex(key)).kid)
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace
    cli.ok("secret", "set", "A", "a-value", "--env", namespace)
    before = spec_map(k8s_api, namespace, SECRETS)
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    reader = {"apiGroups": [GROUP], "resources": [SECRETS], "verbs": ["get", "list", "watch"]}
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "reader"}, "rules": [reader]})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
        },
    )
    kubeconfig = cluster.service_account_kubeconfig(
        k8s_api, namespace, "reader", tmp_path / "reader.kubeconfig"
    )
    refused = cli("secret", "reseal", "--env", namespace, kubeconfig=kubeconfig)
    assert_one_line_error(refused, 1, "writer role")
    manifest = tmp_path / "one.yaml"
    manifest.write_text(FILE.format(ns=namespace, c=before["A"], d=before["A"]))
    assert_one_line_error(
        cli("secret", "reseal", "-f", str(manifest), kubeconfig=kubeconfig), 1, "writer role"
    )
    assert spec_map(k8s_api, namespace, SECRETS) == before
    assert "ironflow.io/reseal" not in json.dumps(
        client.CustomObjectsApi(k8s_api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, SECRETS, "app"
        )
    )
