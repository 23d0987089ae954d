"""Objects of every wrong shape stored, then every master-key path, each taking effect in seconds.

Through a CRD without schema a cluster can hold `spec: "just-a-string"`, `spec: 5` or
`spec: {sealed: [1]}`. One such IronflowSecret once ended the master-key watch at the first key
change that removed a key (a retire): from then on a deletion, corruption, restore or rotation
of the key changed nothing (sealing-key ConfigMaps, the mode metric, the resources) until the
operator was restarted, and /readyz stayed ready. Here the objects stay present while the key is
rotated, retired, deleted, corrupted, restored, rotated and retired again, and a new served
namespace appears; every step must show within STEP_SECONDS, and no task may have restarted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hostile_crd_fixtures import KINDS_OF, create_raw, hostile_manifests
from kubernetes import client
from operator_fixtures import (
    Operator,
    apply_cr,
    configmap_data,
    get_cr,
    new_key,
    ready,
    sealed,
    wait_ready,
    wait_status,
)

from ironflow.core.crypto import derive_sealing_key
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures", "hostile_crd_fixtures"]
SECRET = "IronflowSecret"
SEALING_KEY = "ironflow-sealing-key"
STEP_SECONDS = 10.0  # each step is expected within about a second; 10 leaves room for a busy machine


def _not_ready(cr: dict[str, Any]) -> bool:
    """InvalidSpec for a spec of the wrong shape; a wrong entry (`{sealed: {NOT_SEALED: 5}}`) per name."""
    return ready(cr).get("status") == "False"


def _kid(key: str) -> str:
    return derive_sealing_key(bytes.fromhex(key)).kid


class _Journey:
    def __init__(self, operator: Operator, api: client.ApiClient, namespace: str) -> None:
        self.operator, self.api, self.namespace = operator, api, namespace
        self.seconds: dict[str, float] = {}

    def published(self, namespace: str | None = None) -> dict[str, str]:
        return configmap_data(self.api, namespace or self.namespace, SEALING_KEY) or {}

    def mode_is(self, mode: str) -> bool:
        run = self.operator.current
        return (run.metric(f'ironflow_master_key_mode{{mode="{mode}"}}') == 1.0
                and self.published().get("mode") == mode)

    def step(self, what: str, change: Callable[[], None], effect: Callable[[], Any]) -> None:
        started = time.monotonic()
        change()
        eventually(effect, timeout=STEP_SECONDS, what=what)
        self.seconds[what] = round(time.monotonic() - started, 2)
        assert self.operator.current.ready(), f"/readyz after {what}"


def test_given_objects_of_every_wrong_shape_stored_when_the_key_changes_every_way_then_each_shows_in_seconds(
    cluster: Cluster,
    k8s_api: client.ApiClient,
    namespace: str,
    schemaless_crds: None,
    operator: Operator,
) -> None:
    first, second, third = new_key(), new_key(), new_key()
    # A glob, so that a namespace created later is discovered (the operator's own is excluded).
    operator.namespaces = [f"{namespace}*", f"!{operator.operator_namespace}"]
    operator.set_master_key(first)
    operator.start()
    for manifest in hostile_manifests().values():
        create_raw(cluster, namespace, manifest)
    apply_cr(k8s_api, SECRET, namespace, "app", {"A": sealed(first, namespace, "A", "a")})
    wait_ready(k8s_api, SECRET, namespace, "app")
    for name, kind in KINDS_OF.items():  # every hostile object is known to the operator (reported)
        wait_status(k8s_api, kind, namespace, name, _not_ready, "reported Ready=False")
    journey = _Journey(operator, k8s_api, namespace)

    journey.step("rotate (the first key kept as previous)",
                 lambda: operator.set_master_key(second, previous=first),
                 lambda: journey.published().get("keyId") == _kid(second) and journey.mode_is("keyed"))
    journey.step("retire the first key",
                 lambda: operator.set_master_key(second),
                 lambda: journey.published().get("signerChain") == "[]"
                 and ready(get_cr(k8s_api, SECRET, namespace, "app")).get("reason") == "UnsealFailed")
    journey.step("delete the key", operator.delete_master_key, lambda: journey.mode_is("no-key"))
    journey.step("corrupt the key", lambda: operator.set_master_key("not-a-master-key"),
                 lambda: journey.mode_is("invalid-key"))
    journey.step("restore the key", lambda: operator.set_master_key(second),
                 lambda: journey.mode_is("keyed") and journey.published().get("keyId") == _kid(second))
    journey.step("rotate again", lambda: operator.set_master_key(third, previous=second),
                 lambda: journey.published().get("keyId") == _kid(third) and journey.published().get(
                     "signerChain") != "[]")
    journey.step("retire again", lambda: operator.set_master_key(third),
                 lambda: journey.published().get("signerChain") == "[]")
    newcomer = f"{namespace}-new"
    core = client.CoreV1Api(k8s_api)
    try:
        journey.step("a new served namespace",
                     lambda: core.create_namespace({"metadata": {"name": newcomer,
                                                                 "labels": {"ironflow.io/test": "true"}}}),
                     lambda: journey.published(newcomer).get("keyId") == _kid(third))
    finally:
        core.delete_namespace(newcomer, propagation_policy="Background")

    print("master-key journey, seconds per step:", journey.seconds)
    run = operator.current
    assert run.metric("ironflow_task_restarts_total") == 0, "a supervised task failed and was restarted"
    assert "no longer accepted" in operator.logs()  # the stranding report ran over the hostile objects
    assert "AttributeError" not in operator.logs()
    for name, kind in KINDS_OF.items():  # every hostile object was there throughout, and still is
        assert _not_ready(get_cr(k8s_api, kind, namespace, name))
