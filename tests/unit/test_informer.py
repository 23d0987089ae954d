"""The one informer (k8s/informer.py): paging, resuming, relisting, backoff; and nobody else's loops.

The API server's side (real paging, a real 410, bookmarks) is in tests/integration/test_informer_api.py;
here a scripted client shows the decisions: which request follows which answer.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import ironflow
from ironflow.k8s.async_client import ApiError
from ironflow.k8s.informer import Event, Informer, Synced

PACKAGE = Path(ironflow.__file__).parent
WATCH_QUERY_STRINGS = {"continue", "allowWatchBookmarks"}


def _is_client_watch(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "watch":
        return False
    receiver = node.func.value
    return (isinstance(receiver, ast.Name) and receiver.id == "kube") or (
        isinstance(receiver, ast.Attribute) and receiver.attr == "kube")


def _offends(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in WATCH_QUERY_STRINGS
    if isinstance(node, ast.Dict):
        return any(isinstance(key, ast.Constant) and key.value == "watch" for key in node.keys)
    return _is_client_watch(node)


def _loops_of_their_own(tree: ast.AST) -> list[int]:
    """Lines that page a list (`continue` tokens), build a watch query or call the client's watch."""
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.expr) and _offends(node)]


def test_given_package_source_when_parsed_then_only_k8s_pages_lists_or_loops_over_a_watch() -> None:
    offences = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "k8s"
        and (lines := _loops_of_their_own(ast.parse(path.read_text(), str(path))))
    }
    assert offences == {}, "use ironflow.k8s.informer (Informer, list_items) instead"


def test_given_a_paging_loop_and_a_watch_call_when_parsed_then_the_rule_finds_both() -> None:
    source = (
        "async def f(runtime):\n"
        "    page = await runtime.kube.request('GET', p, query={'continue': t})\n"
        "    async for e in runtime.kube.watch(p, {}, since):\n"
        "        pass\n"
    )
    assert sorted(_loops_of_their_own(ast.parse(source))) == [2, 3]


class Scripted:
    """Answers lists and watches from a script; each answer is a dict, or an ApiError to raise."""

    def __init__(self, lists: list[Any], watches: list[list[Any]]) -> None:
        self.lists, self.watches = lists, watches
        self.requests: list[dict[str, str]] = []
        self.watched: list[str] = []
        self.idle = asyncio.Event()

    async def request(self, method: str, path: str, *, query: dict[str, str]) -> dict[str, Any]:
        assert method == "GET"
        self.requests.append(dict(query))
        answer = self.lists.pop(0)
        if isinstance(answer, ApiError):
            raise answer
        return dict(answer)

    async def watch(self, path: str, query: dict[str, str], since: str,
                    *, timeout_seconds: int) -> AsyncIterator[dict[str, Any]]:
        self.watched.append(since)
        if not self.watches:
            self.idle.set()
            await asyncio.Event().wait()  # nothing more to report, until cancelled
        for answer in self.watches.pop(0):
            if isinstance(answer, ApiError):
                raise answer
            yield answer


def _obj(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "dev", "name": name, "resourceVersion": rv}}


def _run(kube: Scripted, **options: Any) -> list[Event | Synced]:
    async def scenario() -> list[Event | Synced]:
        seen: list[Event | Synced] = []

        async def consume() -> None:
            async for change in Informer(kube, "/api/v1/configmaps", **options):  # type: ignore[arg-type]
                seen.append(change)

        task = asyncio.create_task(consume())
        await asyncio.wait_for(kube.idle.wait(), 10)
        task.cancel()
        return seen

    return asyncio.run(scenario())


def test_given_a_list_in_pages_when_informed_then_objects_then_synced_then_a_watch_from_its_version() -> None:
    kube = Scripted(
        lists=[{"items": [_obj("a", "3")], "metadata": {"continue": "t1"}},
               {"items": [_obj("b", "4")], "metadata": {"resourceVersion": "5"}}],
        watches=[[{"type": "MODIFIED", "object": _obj("a", "6")}]],
    )
    seen = _run(kube, label_selector="x=y", limit=1)

    assert seen == [Event("ADDED", _obj("a", "3"), listed=True), Event("ADDED", _obj("b", "4"), listed=True),
                    Synced("5", frozenset({("dev", "a"), ("dev", "b")})), Event("MODIFIED", _obj("a", "6"))]
    assert kube.requests == [{"labelSelector": "x=y", "limit": "1"},
                             {"labelSelector": "x=y", "limit": "1", "continue": "t1"}]
    assert kube.watched == ["5", "6"]  # the stream ended: resumed from the last version, no list


def test_given_bookmarks_when_the_stream_ends_then_resumed_from_the_bookmark_and_nothing_delivered() -> None:
    kube = Scripted(lists=[{"items": [], "metadata": {"resourceVersion": "5"}}],
                    watches=[[{"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}]])
    seen = _run(kube)

    assert seen == [Synced("5", frozenset())]
    assert kube.watched == ["5", "9"]


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The informer's backoff waits, recorded instead of waited."""
    delays: list[float] = []

    async def no_wait(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr("ironflow.k8s.informer.asyncio.sleep", no_wait)
    return delays


def test_given_watch_expired_when_informed_then_listed_again_at_once_with_fresh_keys(
    slept: list[float],
) -> None:
    gone = {"type": "ERROR", "object": {"code": 410, "reason": "Expired"}}
    kube = Scripted(lists=[{"items": [_obj("a", "3")], "metadata": {"resourceVersion": "5"}},
                           {"items": [], "metadata": {"resourceVersion": "8"}}],
                    watches=[[gone]])
    seen = _run(kube)

    assert seen[-1] == Synced("8", frozenset())  # "a" was deleted unseen: the consumer can tell
    assert kube.watched == ["5", "8"]
    assert slept == []


def test_given_an_expired_continue_token_when_listing_then_the_list_starts_again_at_its_first_page(
    slept: list[float],
) -> None:
    kube = Scripted(lists=[{"items": [_obj("a", "3")], "metadata": {"continue": "t1"}},
                           ApiError(410, "Expired", "continue token too old"),
                           {"items": [_obj("b", "7")], "metadata": {"resourceVersion": "8"}}],
                    watches=[])
    seen = _run(kube)

    assert [q.get("continue") for q in kube.requests] == [None, "t1", None]
    assert seen[-1] == Synced("8", frozenset({("dev", "b")}))
    assert kube.watched == ["8"]
    assert slept == []


def test_given_repeated_failures_when_informed_then_backoff_doubles_to_its_bound_and_resets_after_a_list(
    slept: list[float],
) -> None:
    down = ApiError(0, "ClientConnectorError", "API server unreachable")
    kube = Scripted(lists=[down] * 7 + [{"items": [], "metadata": {"resourceVersion": "5"}},
                                        down, {"items": [], "metadata": {"resourceVersion": "6"}}],
                    watches=[[ApiError(500, "InternalError", "boom")]])
    seen = _run(kube)

    assert slept == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 1.0, 2.0]
    assert seen == [Synced("5", frozenset()), Synced("6", frozenset())]


def test_given_the_first_list_when_taken_in_then_synced_is_set_and_not_before() -> None:
    async def scenario() -> tuple[bool, bool]:
        kube = Scripted(lists=[{"items": [_obj("a", "3")], "metadata": {"resourceVersion": "5"}}], watches=[])
        informer = Informer(kube, "/api/v1/configmaps")  # type: ignore[arg-type]
        changes = informer.changes()
        await anext(changes)
        await anext(changes)  # the Synced: not yet taken in by the consumer
        before = informer.synced.is_set()
        async def the_watch() -> Event | Synced:
            return await anext(changes)

        task = asyncio.create_task(the_watch())
        await asyncio.wait_for(kube.idle.wait(), 10)
        task.cancel()
        return before, informer.synced.is_set()

    assert asyncio.run(scenario()) == (False, True)
