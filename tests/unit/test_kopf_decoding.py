"""kopf's watch and list decoding go through bounded_json once the operator installs the hook.

These attributes are private to kopf; if an upgrade moves them, these tests fail instead of the
protection lapsing silently (an object nested ~1000 levels deep would stop the watch again)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import fetching

from ironflow.controller import kopf_decoding
from ironflow.core import bounded_json

DEEP = '{"metadata":{"name":"deep"},"spec":{"values":{"X":' + "[" * 3000 + "]" * 3000 + "}}}"


def test_given_hook_installed_when_kopf_decodes_a_watch_line_then_deep_body_is_cut_off() -> None:
    kopf_decoding.install()
    kopf_decoding.install()  # idempotent
    decoded = kopf_api.json.loads(DEEP)
    assert decoded["metadata"]["name"] == "deep"
    assert bounded_json.depth(decoded) == bounded_json.MAX_DECODE_DEPTH
    assert kopf_api.json.dumps({"a": 1}) == '{"a": 1}'  # the rest of json is untouched


def test_given_hook_installed_when_kopf_lists_then_response_decoded_bounded() -> None:
    kopf_decoding.install()
    assert fetching.api is kopf_api and kopf_api.get is kopf_decoding._bounded_get

    class Response:
        async def __aenter__(self) -> Response:
            return self

        async def __aexit__(self, *_: object) -> None:
            return None

        async def read(self) -> bytes:
            return ('{"items":[' + DEEP + "]}").encode()

    calls: list[dict[str, Any]] = []

    async def request(**kwargs: Any) -> Response:
        calls.append(kwargs)
        return Response()

    original = kopf_api.request
    kopf_api.request = request  # type: ignore[assignment]
    try:
        listing = asyncio.run(kopf_api.get("/apis/x", settings=None, logger=None))
    finally:
        kopf_api.request = original
    assert calls[0]["method"] == "get" and calls[0]["url"] == "/apis/x"
    assert listing["items"][0]["metadata"]["name"] == "deep"


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _body(api_version: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "K", "metadata": {
        "name": "n", "managedFields": [{"manager": "kubectl"}],
        "annotations": {LAST_APPLIED: '{"spec":{}}', "team": "a"}}, "spec": {"values": {"A": "1"}}}


def test_given_our_kind_when_kopf_decodes_a_watch_line_then_managed_fields_and_last_applied_dropped() -> None:
    kopf_decoding.install()
    ours = kopf_api.json.loads(json.dumps({"type": "ADDED", "object": _body("ironflow.io/v1alpha1")}))
    assert ours["object"]["metadata"] == {"name": "n", "annotations": {"team": "a"}}
    assert ours["object"]["spec"] == {"values": {"A": "1"}}
    theirs = kopf_api.json.loads(json.dumps({"type": "ADDED", "object": _body("v1")}))
    assert theirs["object"] == _body("v1")


def test_given_a_listing_of_our_kind_when_kopf_lists_then_items_slimmed_others_untouched() -> None:
    ours = kopf_decoding.slim_listing({"apiVersion": "ironflow.io/v1alpha1", "kind": "IronflowConfigList",
                                       "items": [_body("")], "metadata": {"continue": "x"}})
    assert ours["items"][0]["metadata"] == {"name": "n", "annotations": {"team": "a"}}
    theirs = {"apiVersion": "v1", "kind": "NamespaceList", "items": [_body("")]}
    assert kopf_decoding.slim_listing(json.loads(json.dumps(theirs))) == theirs


def test_given_the_operator_settings_when_configured_then_kopf_lists_in_pages_of_500() -> None:
    import kopf

    from ironflow.controller.settings import configure
    from ironflow.controller.state import Options
    from ironflow.k8s.config import ClusterChoice

    settings = kopf.OperatorSettings()
    configure(settings, Options(cluster=ClusterChoice(None, None, in_cluster=True), namespaces=(),
                                operator_namespace="o", master_key_secret="k", metrics_port=0,
                                health_port=0, bind_address="127.0.0.1", workers=1))
    assert settings.watching.chunk_size == 500


def test_given_a_list_page_whose_continue_token_expired_when_kopf_asks_then_the_list_starts_over() -> None:
    """A kopf list that outlived a compaction used to end the watcher and the operator with it."""
    from kopf._cogs.clients import errors as kopf_errors

    kopf_decoding.install()

    class Page:
        def __init__(self, body: str) -> None:
            self.body = body

        async def __aenter__(self) -> Page:
            return self

        async def __aexit__(self, *_: object) -> None:
            return None

        async def read(self) -> bytes:
            return self.body.encode()

    asked: list[str] = []

    async def request(**kwargs: Any) -> Page:
        asked.append(kwargs["url"])
        if "continue=" in kwargs["url"]:
            raise kopf_errors.APIClientError({"code": 410, "reason": "Expired"},  # type: ignore[typeddict-item]
                                             status=410, headers={})
        return Page('{"metadata":{"resourceVersion":"9","continue":"next"},'
                    '"items":[{"metadata":{"name":"a"}}]}')

    class Logger:
        warned: list[str] = []

        def warning(self, message: str, *args: object) -> None:
            self.warned.append(message % args)

    original = kopf_api.request
    kopf_api.request = request  # type: ignore[assignment]
    logger = Logger()
    try:
        listing = asyncio.run(kopf_api.get("/apis/x/ks?limit=500&continue=old&labelSelector=a%3Db",
                                           settings=None, logger=logger))
    finally:
        kopf_api.request = original
    assert asked == ["/apis/x/ks?limit=500&continue=old&labelSelector=a%3Db",
                     "/apis/x/ks?limit=500&labelSelector=a%3Db"]
    assert listing["metadata"]["resourceVersion"] == "9" and listing["items"][0]["metadata"]["name"] == "a"
    assert len(logger.warned) == 1 and "410" in logger.warned[0]


def test_given_any_other_refusal_or_a_first_page_when_kopf_lists_then_the_error_goes_to_kopf() -> None:
    from kopf._cogs.clients import errors as kopf_errors

    kopf_decoding.install()

    async def request(**kwargs: Any) -> object:
        status = 410 if "continue=" not in kwargs["url"] else 403
        raise kopf_errors.APIClientError("refused", status=status, headers={})

    original = kopf_api.request
    kopf_api.request = request  # type: ignore[assignment]
    try:
        for url in ("/apis/x/ks?limit=500", "/apis/x/ks?limit=500&continue=old"):
            try:
                asyncio.run(kopf_api.get(url, settings=None, logger=None))
            except kopf_errors.APIClientError:
                continue
            raise AssertionError(f"{url}: the refusal was swallowed")
    finally:
        kopf_api.request = original
