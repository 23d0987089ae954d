"""The informer (k8s/informer.py) against the real API server: a list in pages, a watch the server
ends and the informer resumes (bookmarks move its version on), a 410 that forces a list again, and
an expired continue token (etcd compacted between two pages) that starts the list again.

The client is the operator's own; a subclass only records the requests and, where a test needs
it, changes the server's state at a chosen moment (an object deleted unseen, etcd compacted). The
410s come from etcd itself, for Events (which the API server does not cache): on a fresh cluster
the watch cache still holds every version since it started, so it answers even version 1.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest

from ironflow.k8s.async_client import ApiError, Kube, core_path
from ironflow.k8s.config import choose_cluster
from ironflow.k8s.informer import Change, Event, Informer, Synced
from ironflow_testbed.cluster import Cluster

LABEL = "ironflow.io/informer-test"
TIMEOUT = 30.0


class RecordingKube(Kube):
    """Records each list query and each watch's starting version and raw events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lists: list[dict[str, str]] = []
        self.watches: list[str] = []
        self.raw: list[dict[str, Any]] = []
        self.raw_before: list[int] = []  # len(raw) when each watch started
        self.gone = 0  # 410s the server answered a watch with (an ERROR event or the status)
        self.before_watch: Callable[[int], Awaitable[str | None]] | None = None  # may replace `since`
        self.before_page: Callable[[dict[str, str]], dict[str, str]] | None = None  # may replace the query

    async def request(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                      **kwargs: Any) -> dict[str, Any]:
        if method == "GET" and query is not None and "limit" in query:
            self.lists.append(dict(query))
            if self.before_page is not None:
                query = self.before_page(dict(query))
        return await super().request(method, path, query=query, **kwargs)

    async def watch(self, path: str, query: Mapping[str, str], since: str, *,
                    timeout_seconds: int = 240) -> AsyncIterator[dict[str, Any]]:
        self.watches.append(since)
        self.raw_before.append(len(self.raw))
        if self.before_watch is not None:
            since = await self.before_watch(len(self.watches)) or since
        try:
            async for event in super().watch(path, query, since, timeout_seconds=timeout_seconds):
                self.raw.append(event)
                if event.get("type") == "ERROR" and (event.get("object") or {}).get("code") == 410:
                    self.gone += 1
                yield event
        except ApiError as exc:
            self.gone += exc.status == 410
            raise


class Running:
    """An informer consumed in a task; `until` polls a condition with a timeout (as `eventually` does)."""

    def __init__(self, informer: Informer) -> None:
        self.informer = informer
        self.changes: list[Change] = []
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        async for change in self.informer:
            self.changes.append(change)

    async def until(self, condition: Callable[[], bool], what: str, within: float = TIMEOUT) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; changes: {self.changes}")
            await asyncio.sleep(0.05)

    def synced(self) -> list[Synced]:
        return [c for c in self.changes if isinstance(c, Synced)]

    def watched(self) -> list[Event]:
        return [c for c in self.changes if isinstance(c, Event) and not c.listed]


async def _kube(cluster: Cluster) -> RecordingKube:
    choice = choose_cluster(str(cluster.kubeconfig))
    kube = await RecordingKube.connect(choice)
    assert isinstance(kube, RecordingKube)
    return kube


async def _config_map(kube: Kube, namespace: str, name: str, labelled: bool = True) -> None:
    body = {"metadata": {"name": name, "labels": {LABEL: "yes"} if labelled else {}}, "data": {"k": "v"}}
    await kube.create(core_path("configmaps", namespace), body)


def _informer(kube: Kube, namespace: str, resource: str = "configmaps", **options: Any) -> Informer:
    return Informer(kube, core_path(resource, namespace), label_selector=f"{LABEL}=yes", **options)


async def _event(kube: Kube, namespace: str, name: str) -> None:
    """An Event: the one kind the API server keeps no watch cache for, so lists and watches of it
    are answered by etcd itself, and a compaction makes their versions and continue tokens expire."""
    about = {"kind": "ConfigMap", "namespace": namespace, "name": "x"}
    body = {"metadata": {"name": name, "labels": {LABEL: "yes"}}, "type": "Normal", "reason": "Test",
            "message": "informer test", "involvedObject": about}
    await kube.create(core_path("events", namespace), body)


def _names(changes: list[Event]) -> list[tuple[str, str]]:
    return [(c.type, c.object["metadata"]["name"]) for c in changes]


def test_given_more_objects_than_a_page_when_informed_then_listed_in_pages_synced_then_watched(
    cluster: Cluster, namespace: str,
) -> None:
    async def scenario() -> None:
        kube = await _kube(cluster)
        try:
            for name in ("a", "b", "c", "d", "e"):
                await _config_map(kube, namespace, name)
            await _config_map(kube, namespace, "unlabelled", labelled=False)
            running = Running(_informer(kube, namespace, limit=2))
            await asyncio.wait_for(running.informer.synced.wait(), TIMEOUT)

            assert running.synced()[0].keys == {(namespace, n) for n in ("a", "b", "c", "d", "e")}
            assert [q.get("continue") is not None for q in kube.lists] == [False, True, True]
            assert all(q["limit"] == "2" and q["labelSelector"] == f"{LABEL}=yes" for q in kube.lists)

            await _config_map(kube, namespace, "f")
            await kube.merge_patch(core_path("configmaps", namespace, "a"), {"data": {"k": "w"}})
            await kube.request("DELETE", core_path("configmaps", namespace, "b"))
            await running.until(lambda: len(running.watched()) >= 3, "three watch events")
            assert _names(running.watched()) == [("ADDED", "f"), ("MODIFIED", "a"), ("DELETED", "b")]
            assert len(kube.lists) == 3 and len(running.synced()) == 1  # no list again
            running.task.cancel()
        finally:
            await kube.close()

    asyncio.run(scenario())


def test_given_a_quiet_watch_with_bookmarks_when_the_server_ends_it_then_resumed_from_the_bookmark(
    cluster: Cluster, namespace: str,
) -> None:
    async def scenario() -> None:
        kube = await _kube(cluster)
        try:
            # The API server sends a quiet watch a bookmark about once a minute: a 65 s watch gets one.
            running = Running(_informer(kube, namespace, watch_seconds=65))
            await asyncio.wait_for(running.informer.synced.wait(), TIMEOUT)
            await running.until(lambda: len(kube.watches) >= 2, "the watch ended by the server and resumed",
                                within=90)

            # The server may send more than one (another near the watch's end): the resume is from
            # the last one the first watch delivered.
            first_watch = kube.raw[:kube.raw_before[1]]
            bookmarks = [e for e in first_watch if e.get("type") == "BOOKMARK"]
            assert bookmarks, kube.raw
            assert kube.watches[1] == bookmarks[-1]["object"]["metadata"]["resourceVersion"]
            assert running.changes == running.synced()  # a bookmark delivers nothing

            await _config_map(kube, namespace, "later")
            await running.until(lambda: bool(running.watched()), "the object created after the resume")
            assert _names(running.watched()) == [("ADDED", "later")]
            assert len(kube.lists) == 1  # resumed, never listed again
            running.task.cancel()
        finally:
            await kube.close()

    asyncio.run(scenario())


def _compact(cluster: Cluster) -> None:
    """etcd forgets every version before now, as the API server's own compaction does every five
    minutes: a watch or a continue token from before then gets 410 Gone. A key outside the API
    server's prefix is written first, so that "now" is newer than every version handed out."""
    key = base64.b64encode(b"/ironflow-test/compaction").decode()
    revision = _etcd(cluster, "kv/put", {"key": key, "value": key})["header"]["revision"]
    _etcd(cluster, "kv/compaction", {"revision": revision, "physical": True})


def _etcd(cluster: Cluster, call: str, body: dict[str, Any]) -> dict[str, Any]:
    assert cluster.plane is not None and cluster.plane.ports is not None
    request = urllib.request.Request(f"http://127.0.0.1:{cluster.plane.ports.etcd_client}/v3/{call}",
                                     data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # the session's own etcd, on loopback
        return dict(json.loads(response.read()))


def test_given_the_lists_version_compacted_when_the_watch_starts_then_listed_again_with_the_unseen_deletion(
    cluster: Cluster, namespace: str, caplog: pytest.LogCaptureFixture,
) -> None:
    if cluster.plane is None:
        pytest.skip("needs the session's own etcd, to compact it")

    async def scenario() -> None:
        kube = await _kube(cluster)
        try:
            for name in ("kept", "gone"):
                await _event(kube, namespace, name)

            async def compacted_before_the_first_watch(number: int) -> str | None:
                if number == 1:
                    await kube.request("DELETE", core_path("events", namespace, "gone"))
                    await asyncio.to_thread(_compact, cluster)  # the list's version is gone from etcd
                return None

            kube.before_watch = compacted_before_the_first_watch
            running = Running(_informer(kube, namespace, "events"))
            await running.until(lambda: len(running.synced()) >= 2, "a second list after the 410")

            first, second = running.synced()[:2]
            assert first.keys == {(namespace, "kept"), (namespace, "gone")}
            assert second.keys == {(namespace, "kept")}  # deleted unseen: the consumer can tell
            assert kube.gone == 1
            assert not [r for r in caplog.records if r.name == "ironflow.informer"]  # no wait
            assert len(kube.lists) == 2 and kube.watches[1] == second.resource_version
            assert not running.watched()  # nothing came through the stale watch
            running.task.cancel()
        finally:
            await kube.close()

    asyncio.run(scenario())


def test_given_an_expired_continue_token_when_listing_then_the_list_starts_again_at_its_first_page(
    cluster: Cluster, namespace: str, caplog: pytest.LogCaptureFixture,
) -> None:
    if cluster.plane is None:
        pytest.skip("needs the session's own etcd, to compact it between two pages")

    async def scenario() -> None:
        kube = await _kube(cluster)
        try:
            for name in ("a", "b", "c"):
                await _event(kube, namespace, name)

            def compact_before_the_second_page(query: dict[str, str]) -> dict[str, str]:
                if "continue" in query and sum("continue" in q for q in kube.lists) == 1:
                    _compact(cluster)  # the first page's version, and so its continue token, expire
                return query

            kube.before_page = compact_before_the_second_page
            running = Running(_informer(kube, namespace, "events", limit=1))
            await asyncio.wait_for(running.informer.synced.wait(), TIMEOUT)

            assert [q.get("continue") is not None for q in kube.lists] == [False, True, False, True, True]
            assert running.synced()[0].keys == {(namespace, n) for n in ("a", "b", "c")}
            assert len(running.synced()) == 1
            assert not [r for r in caplog.records if r.name == "ironflow.informer"]  # no wait
            running.task.cancel()
        finally:
            await kube.close()

    asyncio.run(scenario())
