"""The cache of projected objects: ordered by resourceVersion, tombstones, only watched objects kept."""

from __future__ import annotations

import asyncio
import base64
import types
from collections.abc import AsyncIterator
from typing import Any

from ironflow.controller.cache import Cache
from ironflow.controller.drift import LABEL_SELECTOR, _inform
from ironflow.controller.echoes import OwnWrites
from ironflow.controller.projected import ProjectedCache
from ironflow.controller.work import CrKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL, SECRET_KIND


def _secret(rv: int, value: str, *, labelled: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "namespace": "dev",
            "name": "app",
            "resourceVersion": str(rv),
            "labels": {MANAGED_BY_LABEL: MANAGED_BY} if labelled else {},
            "ownerReferences": [{"apiVersion": "ironflow.io/v1alpha1", "kind": SECRET_KIND, "name": "app",
                                 "uid": "uid-app", "controller": True}],
            "managedFields": [{"manager": "someone", "fieldsV1": {"f:data": {}}}],
        },
        "data": {"DB": base64.b64encode(value.encode()).decode()},
    }


def test_given_newer_object_cached_when_an_older_answer_arrives_then_the_newer_one_stays() -> None:
    cache = ProjectedCache()
    cache.put(SECRET_KIND, _secret(7, "new"))
    cache.put(SECRET_KIND, _secret(5, "old"))

    actual = cache.get(SECRET_KIND, "dev", "app")
    assert actual is not None and actual.data == {"DB": b"new"} and actual.resource_version == "7"
    assert actual.owner_uid == "uid-app" and actual.labelled


def test_given_deleted_while_owner_exists_when_a_late_write_answer_arrives_then_it_stays_absent() -> None:
    cache = ProjectedCache()
    cache.put(SECRET_KIND, _secret(5, "v"))
    cache.deleted(SECRET_KIND, _secret(9, "v"), owner_exists=True)
    cache.put(SECRET_KIND, _secret(8, "v"))  # answer to a write that the deletion overtook

    actual = cache.get(SECRET_KIND, "dev", "app")
    assert actual is not None and not actual.exists


def test_given_deleted_after_its_owner_when_recorded_then_nothing_is_kept() -> None:
    cache = ProjectedCache()
    cache.put(SECRET_KIND, _secret(5, "v"))
    cache.deleted(SECRET_KIND, _secret(9, "v"), owner_exists=False)

    assert cache.get(SECRET_KIND, "dev", "app") is None and len(cache) == 0


def test_given_object_outside_the_watch_when_put_then_it_is_not_kept_and_is_read_next_time() -> None:
    cache = ProjectedCache()
    cache.put(SECRET_KIND, _secret(5, "v"))
    cache.put(SECRET_KIND, _secret(6, "v", labelled=False))

    assert cache.get(SECRET_KIND, "dev", "app") is None


def test_given_forgotten_when_read_then_unknown() -> None:
    cache = ProjectedCache()
    cache.put(SECRET_KIND, _secret(5, "v"))
    cache.forget(SECRET_KIND, "dev", "app")

    assert cache.get(SECRET_KIND, "dev", "app") is None


def test_given_listing_delivered_when_an_object_is_not_held_then_it_is_known_absent() -> None:
    cache = ProjectedCache()
    assert cache.get(SECRET_KIND, "dev", "app") is None  # before the listing: read it
    cache.primed()

    actual = cache.get(SECRET_KIND, "dev", "app")
    assert actual is not None and not actual.exists


def test_given_synced_when_a_write_was_refused_or_the_object_is_someone_elses_then_it_is_read_again() -> None:
    cache = ProjectedCache()
    cache.primed()
    cache.put(SECRET_KIND, _secret(5, "v"))
    cache.forget(SECRET_KIND, "dev", "app")  # a 409: our view was stale
    assert cache.get(SECRET_KIND, "dev", "app") is None

    cache.put(SECRET_KIND, _secret(6, "v", labelled=False))  # the GET shows an object outside the watch
    assert cache.get(SECRET_KIND, "dev", "app") is None

    cache.put(SECRET_KIND, _secret(7, "v"))  # labelled again: the watch reports it
    actual = cache.get(SECRET_KIND, "dev", "app")
    assert actual is not None and actual.exists


def test_given_a_read_found_nothing_when_the_watch_then_reports_it_then_the_watch_wins() -> None:
    cache = ProjectedCache()
    cache.absent(SECRET_KIND, "dev", "app")
    actual = cache.get(SECRET_KIND, "dev", "app")
    assert actual is not None and not actual.exists

    cache.put(SECRET_KIND, _secret(3, "v"))
    actual = cache.get(SECRET_KIND, "dev", "app")
    assert actual is not None and actual.exists


def test_given_owner_gone_when_dropped_then_nothing_is_kept() -> None:
    cache = ProjectedCache()
    cache.forget(SECRET_KIND, "dev", "app")
    cache.drop(SECRET_KIND, "dev", "app")
    assert len(cache) == 0 and not cache._unknown


def test_given_object_deleted_unseen_when_the_drift_watch_lists_again_then_it_is_read_and_requeued() -> None:
    async def scenario() -> tuple[ProjectedCache, set[object], str]:
        watching: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        class Listing:
            async def request(self, method: str, path: str, *, query: dict[str, str]) -> dict[str, Any]:
                assert query["labelSelector"] == LABEL_SELECTOR
                other = _secret(6, "w")
                other["metadata"]["name"] = other["metadata"]["ownerReferences"][0]["name"] = "other"
                return {"items": [other], "metadata": {"resourceVersion": "9"}}

            async def watch(self, path: str, query: dict[str, str], since: str,
                            **_: Any) -> AsyncIterator[dict[str, Any]]:
                watching.set_result(since)
                await asyncio.Event().wait()  # a watch with nothing to report, until cancelled
                yield {}

        runtime = types.SimpleNamespace(kube=Listing(), projected=ProjectedCache(), queue=WorkQueue(),
                                        cache=Cache(), served_namespaces={"dev"}, echoes=OwnWrites(),
                                        options=types.SimpleNamespace(namespaces=(), operator_namespace="x"))
        runtime.projected.put(SECRET_KIND, _secret(5, "v"))  # held from before a 410, then deleted
        task = asyncio.create_task(_inform(runtime, SECRET_KIND, None, asyncio.Event()))  # type: ignore[arg-type]
        version = await asyncio.wait_for(watching, 10)  # the watch starts from the list's version
        task.cancel()
        return runtime.projected, set(runtime.queue._queued), version

    cache, queued, version = asyncio.run(scenario())
    assert version == "9"
    assert cache.get(SECRET_KIND, "dev", "app") is None  # read it again, do not trust the old view
    assert cache.get(SECRET_KIND, "dev", "other") is not None
    assert queued == {CrKey(SECRET_KIND, "dev", "app")}  # the listing itself queues nothing
