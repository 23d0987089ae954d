"""A stale view of a projected object never overwrites the newer object on the API server.

The reconcile decides from the drift watch's cache instead of reading the object, so its view can
lag behind the API server. These tests run the projector in-process against the real API server
with no watch running (the watch "paused"), change the projected object behind the cache's back,
and show that the conditional write is refused (409), the reconcile reads once and decides again,
and nothing newer is clobbered or lost.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes import client
from operator_fixtures import GROUP, PLURAL, VERSION, apply_cr, get_cr

from ironflow.controller import projector
from ironflow.controller.leadership import ElectionOptions
from ironflow.controller.masterkey import key_state
from ironflow.controller.state import Options, Runtime
from ironflow.core.model import CONFIG_KIND, MANAGED_BY_LABEL
from ironflow.k8s.async_client import ApiError, Kube
from ironflow.k8s.config import choose_cluster
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures"]
CONFIG = "IronflowConfig"


class _CountingKube(Kube):
    """Counts the GETs of projected objects the reconcile sends."""

    gets = 0

    async def get(self, path: str, *, accept: str = "application/json") -> dict[str, Any] | None:
        if "/configmaps/" in path:
            self.gets += 1
        return await super().get(path, accept=accept)


async def _runtime(cluster: Cluster) -> Runtime:
    choice = choose_cluster(str(cluster.kubeconfig))
    options = Options(cluster=choice, namespaces=(), operator_namespace="ironflow-system",
                      master_key_secret="ironflow-master-key", metrics_port=0, health_port=0,
                      bind_address="127.0.0.1", workers=1, election=ElectionOptions(enabled=False))
    return Runtime(options=options, kube=await _CountingKube.connect(choice))


def _config_map(api: client.ApiClient, namespace: str) -> client.V1ConfigMap:
    return client.CoreV1Api(api).read_namespaced_config_map("app", namespace)


async def _reconcile(runtime: Runtime, api: client.ApiClient, namespace: str) -> None:
    """What the CR watch would do (record the CR), then one reconcile, retried like the worker
    retries while a just-created CRD's storage still initialises (429)."""
    runtime.cache.put(CONFIG_KIND, get_cr(api, CONFIG, namespace, "app"))
    for attempt in range(30):
        try:
            await projector.reconcile(runtime, CONFIG_KIND, namespace, "app", key_state(None))
            return
        except ApiError as exc:
            if exc.status != 429 or attempt == 29:
                raise
            await asyncio.sleep(0.2)  # backoff between retries, as the work queue does


async def _projected_then_changed_behind_the_cache(
    cluster: Cluster, api: client.ApiClient, namespace: str
) -> Runtime:
    runtime = await _runtime(cluster)
    apply_cr(api, CONFIG, namespace, "app", {"C": "one"})
    await _reconcile(runtime, api, namespace)
    assert _config_map(api, namespace).data == {"C": "one"}
    cached = runtime.projected.get(CONFIG_KIND, namespace, "app")
    assert cached is not None and cached.exists  # from the create's answer: no watch runs here
    apply_cr(api, CONFIG, namespace, "app", {"C": "two"})
    return runtime


def test_given_stale_cache_when_the_object_was_edited_behind_it_then_the_write_uses_the_newer_object(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, crds: list[str]
) -> None:
    async def scenario() -> None:
        runtime = await _projected_then_changed_behind_the_cache(cluster, k8s_api, namespace)
        try:
            # a hand edit the cache has not seen: a changed value and a key we never wrote
            client.CoreV1Api(k8s_api).patch_namespaced_config_map(
                "app", namespace,
                {"data": {"C": "edited", "STRAY": "x"}, "metadata": {"annotations": {"keep": "me"}}},
            )
            gets = runtime.kube.gets  # type: ignore[attr-defined]
            await _reconcile(runtime, k8s_api, namespace)
            projected = _config_map(k8s_api, namespace)
            # decided on the newer object: the stray key is removed, the new value projected,
            # and the foreign annotation (not ours to manage) kept
            assert projected.data == {"C": "two"}
            assert projected.metadata.annotations["keep"] == "me"
            assert runtime.kube.gets == gets + 1  # type: ignore[attr-defined]  # read once, after the 409
            status = get_cr(k8s_api, CONFIG, namespace, "app")["status"]
            assert status["names"]["C"]["state"] == "Projected"
        finally:
            await runtime.kube.close()

    asyncio.run(scenario())


def test_given_stale_cache_when_someone_else_replaced_the_object_then_theirs_is_not_overwritten(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, crds: list[str]
) -> None:
    async def scenario() -> None:
        runtime = await _projected_then_changed_behind_the_cache(cluster, k8s_api, namespace)
        try:
            core = client.CoreV1Api(k8s_api)
            core.delete_namespaced_config_map("app", namespace)
            core.create_namespaced_config_map(
                namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="app"), data={"C": "theirs"})
            )
            await _reconcile(runtime, k8s_api, namespace)
            theirs = _config_map(k8s_api, namespace)
            assert theirs.data == {"C": "theirs"}
            assert MANAGED_BY_LABEL not in (theirs.metadata.labels or {})
            assert not theirs.metadata.owner_references
            status = get_cr(k8s_api, CONFIG, namespace, "app")["status"]
            assert status["names"]["C"]["reason"] == "OwnershipConflict"
            assert runtime.projected.get(CONFIG_KIND, namespace, "app") is None  # not ours: not kept
            assert client.CustomObjectsApi(k8s_api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL[CONFIG], "app")["spec"]["values"] == {"C": "two"}
        finally:
            await runtime.kube.close()

    asyncio.run(scenario())


def test_given_cache_believes_the_object_absent_when_it_exists_then_the_create_is_refused_and_it_is_updated(
    cluster: Cluster, k8s_api: client.ApiClient, namespace: str, crds: list[str]
) -> None:
    async def scenario() -> None:
        runtime = await _projected_then_changed_behind_the_cache(cluster, k8s_api, namespace)
        try:
            runtime.projected.primed()  # as after the drift watch's list ...
            runtime.projected.drop(CONFIG_KIND, namespace, "app")  # ... that has not shown this object yet
            before = _config_map(k8s_api, namespace).metadata.uid
            await _reconcile(runtime, k8s_api, namespace)
            projected = _config_map(k8s_api, namespace)
            assert projected.metadata.uid == before  # the same object, updated, not replaced
            assert projected.data == {"C": "two"}
            assert runtime.kube.gets == 2  # type: ignore[attr-defined]  # the first 404, then once after the 409
        finally:
            await runtime.kube.close()

    asyncio.run(scenario())
