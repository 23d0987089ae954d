"""Fuzzing the webhook's HTTP handling in-process: whatever the body, a clean answer.

Arbitrary bytes, arbitrary JSON, and AdmissionReviews whose fields are arbitrary JSON values are
posted to the real aiohttp application (without TLS). Every answer must be a 200 carrying a
well-formed AdmissionReview response, or a clean 400; never a 500, never a traceback, never an
internal-error denial, and the environment reader (the API calls and caches) must only ever see
a valid namespace. The budget is bounded (max_examples) and there is no deadline (shared CPUs).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from helpers_ironflow_env import view
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView
from ironflow.core.names import is_valid_namespace
from ironflow.webhook.configuration import ENFORCE_PATH, MUTATE_PATH
from ironflow.webhook.server import WebhookOptions, WebhookServer

EXAMPLES = 150

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)
_names = st.sampled_from(["DB_PASSWORD", "HTTP_TIMEOUT_MS", "MISSING", "bad-name", "A?", ""])
_declaration = st.lists(_names, max_size=4).map(", ".join)
_annotations = st.dictionaries(
    st.sampled_from(["ironflow.io/secrets", "ironflow.io/configs", "ironflow.io/projection"])
    | st.sampled_from(["ironflow.io/containers", "other"]),
    _declaration | st.sampled_from(["env", "files", "env,files", "app", "nope"]) | json_values,
    max_size=5,
)
_container = st.fixed_dictionaries(
    {"name": st.sampled_from(["app", "side", "Bad", ""]) | json_values},
    optional={
        "env": st.lists(st.fixed_dictionaries({"name": st.text(max_size=8) | json_values}), max_size=3)
        | json_values,
        "envFrom": st.lists(st.fixed_dictionaries({"secretRef": json_values}), max_size=2) | json_values,
        "volumeMounts": json_values,
    },
)
_pod = st.fixed_dictionaries(
    {
        "metadata": st.fixed_dictionaries(
            {"annotations": _annotations | json_values},
            optional={"name": st.text(max_size=20) | json_values, "namespace": json_values},
        )
        | json_values,
        "spec": st.fixed_dictionaries(
            {"containers": st.lists(_container, max_size=3) | json_values},
            optional={"initContainers": st.lists(_container, max_size=2), "volumes": json_values},
        )
        | json_values,
    }
)
_reviews = st.fixed_dictionaries(
    {
        "apiVersion": st.just("admission.k8s.io/v1") | json_values,
        "kind": st.just("AdmissionReview") | json_values,
        "request": st.fixed_dictionaries(
            {
                "uid": st.uuids().map(str) | json_values,
                "namespace": st.sampled_from(["dev", "../x", "dev\nx", "Dev"])
                | st.text(max_size=70)
                | json_values,
                "object": _pod | json_values,
            },
            optional={"subResource": st.just("ephemeralcontainers") | json_values},
        )
        | json_values,
    }
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | _reviews.map(lambda v: json.dumps(v).encode())
)


class _Reader:
    def __init__(self) -> None:
        self.namespaces: list[Any] = []

    async def __call__(self, namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
        self.namespaces.append(namespace)
        if namespace == "dev":
            return view(secrets={"app": {"DB_PASSWORD": "v1"}}, configs={"cfg": {"HTTP_TIMEOUT_MS": "1"}})
        raise ConnectionError("unreachable")


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _check(status: int, text: str) -> None:
    assert status in (200, 400), (status, text)
    answer = json.loads(text)
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert isinstance(response["uid"], str) and isinstance(response["allowed"], bool)
    if not response["allowed"]:
        assert response["status"]["code"] in (400, 403), response
        assert "Traceback" not in response["status"]["message"]


def test_given_arbitrary_bodies_when_posted_then_always_a_clean_admission_answer(tmp_path: Path) -> None:
    reader = _Reader()
    errors = _Errors()
    logging.getLogger("ironflow.webhook").addHandler(errors)
    loop = asyncio.new_event_loop()
    server = WebhookServer(WebhookOptions(port=0, cert_dir=tmp_path), reader)
    client = TestClient(TestServer(server.application()), loop=loop)
    loop.run_until_complete(client.start_server())

    async def post(path: str, body: bytes) -> tuple[int, str]:
        response = await client.post(path, data=body, headers={"Content-Type": "application/json"})
        return response.status, await response.text()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=bodies, path=st.sampled_from([MUTATE_PATH, ENFORCE_PATH]))
    def posted(body: bytes, path: str) -> None:
        status, text = loop.run_until_complete(post(path, body))
        _check(status, text)

    try:
        posted()
    finally:
        loop.run_until_complete(client.close())
        loop.close()
        logging.getLogger("ironflow.webhook").removeHandler(errors)
    assert all(is_valid_namespace(ns) for ns in reader.namespaces), set(reader.namespaces)
    assert [r.getMessage() for r in errors.records] == []


def test_given_a_bug_in_the_review_when_posted_then_fail_closed_denial_without_its_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(body: object, read: object) -> dict[str, Any]:
        raise KeyError("canary-pod-field-7c1")

    monkeypatch.setattr("ironflow.webhook.server.review_declarations", broken)
    server = WebhookServer(WebhookOptions(port=0, cert_dir=tmp_path), _Reader())

    async def scenario() -> tuple[int, str]:
        async with TestClient(TestServer(server.application())) as client:
            response = await client.post(MUTATE_PATH, json={"request": {"uid": "u-1"}})
            return response.status, await response.text()

    status, text = asyncio.run(scenario())
    response = json.loads(text)["response"]
    assert status == 200 and response["allowed"] is False and response["uid"] == "u-1"
    assert response["status"]["code"] == 500 and "KeyError" in response["status"]["message"]
    assert "canary" not in text


# -- stored bodies: what the webhook's environment view is built from --------------------------
_stored_spec = json_values | st.fixed_dictionaries(
    {}, optional={"sealed": json_values | st.dictionaries(_names, json_values, max_size=3),
                  "values": json_values | st.dictionaries(_names, json_values, max_size=3)})
_stored = st.lists(
    st.fixed_dictionaries(
        {"metadata": st.fixed_dictionaries({
            "name": st.sampled_from(["app", "bad", "cfg", "other"]), "namespace": st.just("dev"),
            "uid": st.sampled_from(["u1", "u2"]), "creationTimestamp": st.just("2026-01-01T00:00:00Z")})},
        optional={"spec": _stored_spec | st.sampled_from(["just-a-string", 5, {"sealed": [1]}]),
                  "status": json_values},
    ),
    max_size=4,
)


class _StoredKube:
    """An API server holding `stored` IronflowSecrets and IronflowConfigs, each projected and owned."""

    def __init__(self, secrets: list[Any], configs: list[Any]) -> None:
        self.items = {"ironflowsecrets": secrets, "ironflowconfigs": configs}

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        return {"items": self.items[path.rsplit("/", 1)[-1]], "metadata": {}}

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        owners = [{"uid": "u1"}, {"uid": "u2"}]
        return {"metadata": {"name": path.rsplit("/", 1)[-1], "ownerReferences": owners}}


def test_given_any_stored_bodies_when_a_declaring_pod_is_reviewed_then_a_clean_answer(tmp_path: Path) -> None:
    """The environment a review reads is built from stored bodies of any shape (a CRD without
    schema): through the webhook's cached view and its live listing, every answer stays clean."""
    from ironflow.controller.cache import Cache
    from ironflow.webhook.reader import CachedEnvironments, environment_reader

    loop = asyncio.new_event_loop()
    review = {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u", "namespace": "dev", "object": {
            "metadata": {"annotations": {"ironflow.io/secrets": "DB_PASSWORD?, MISSING?",
                                         "ironflow.io/configs": "HTTP_TIMEOUT_MS?"}},
            "spec": {"containers": [{"name": "app"}]}}},
    }

    async def decide(secrets: list[Any], configs: list[Any], path: str) -> tuple[int, str]:
        kube = _StoredKube(secrets, configs)
        cache = Cache()
        for kind, items in (("IronflowSecret", secrets), ("IronflowConfig", configs)):
            for item in items:
                cache.put(kind, item)  # type: ignore[arg-type]
        cached = CachedEnvironments(cache, kube, known=lambda _: True)  # type: ignore[arg-type]
        server = WebhookServer(WebhookOptions(port=0, cert_dir=tmp_path),
                               environment_reader(kube, cached=cached))  # type: ignore[arg-type]
        async with TestClient(TestServer(server.application()), loop=loop) as client:
            response = await client.post(path, json=review)
            return response.status, await response.text()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(secrets=_stored, configs=_stored, path=st.sampled_from([MUTATE_PATH, ENFORCE_PATH]))
    def reviewed(secrets: list[Any], configs: list[Any], path: str) -> None:
        status, text = loop.run_until_complete(decide(secrets, configs, path))
        _check(status, text)
        assert json.loads(text)["response"]["allowed"] is True  # only optional names: never refused

    try:
        reviewed()
    finally:
        loop.close()
