"""Every name in an AdmissionReview is checked before use: a bad one is a 400, never an API call.

The attacks these stand for: a namespace with `../` segments (the operator GETs another path
with its own identity), with `?` (a listing of another kind poisons the cache), with a newline
(a forged log line), or simply ever new (unbounded memory). The reader stands in for every API
call and cache the webhook makes: it must never see such a namespace.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Collection
from typing import Any

import pytest
from helpers_ironflow_env import pod, view

from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView
from ironflow.webhook.admission import review_declarations, review_enforcement
from ironflow.webhook.review import MAX_IRONFLOW_ANNOTATION_BYTES


class _Reader:
    def __init__(self) -> None:
        self.namespaces: list[str] = []

    async def __call__(self, namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
        self.namespaces.append(namespace)
        return view(secrets={"app": {"DB_PASSWORD": "v1"}}, namespace=namespace)


def _review(namespace: object = "dev", p: dict[str, Any] | None = None, uid: object = "u1") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "namespace": namespace,
            "object": p if p is not None else pod({"ironflow.io/secrets": "DB_PASSWORD"}),
            "operation": "CREATE",
        },
    }


def _both(body: dict[str, Any]) -> tuple[list[dict[str, Any]], _Reader]:
    reader = _Reader()
    reviews = (review_declarations, review_enforcement)
    outs = [asyncio.run(review(copy.deepcopy(body), reader)) for review in reviews]
    return [o["response"] for o in outs], reader


@pytest.mark.parametrize(
    "namespace",
    [
        "../../api/v1/namespaces/ironflow-system/secrets/ironflow-master-key",
        "dev/ironflowconfigs?",
        "dev\n2026-11-30 12:00:00 INFO    ironflow.webhook: admitted pod kube-system/x",
        "Dev",
        "dev.other",
        "-dev",
        "d" * 64,
        "",
        None,
        ["dev"],
        {"dev": 1},
        7,
    ],
)
def test_given_invalid_namespace_when_reviewed_then_refused_400_and_nothing_read(namespace: object) -> None:
    responses, reader = _both(_review(namespace))
    for response in responses:
        assert response["allowed"] is False and response["status"]["code"] == 400
        assert response["uid"] == "u1"
        assert "request.namespace" in response["status"]["message"]
        assert "\n" not in response["status"]["message"] and ".." not in response["status"]["message"]
    assert reader.namespaces == []


def test_given_pod_namespace_differing_from_request_when_reviewed_then_refused() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD"})
    p["metadata"]["namespace"] = "other"
    responses, reader = _both(_review("dev", p))
    assert all(r["allowed"] is False and r["status"]["code"] == 400 for r in responses)
    assert reader.namespaces == []


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"name": "p\nINFO forged"}, "metadata.name"),
        ({"name": "P_1"}, "metadata.name"),
        ({"name": "p" * 254}, "metadata.name"),
        ({"name": None, "generateName": "web-\r\n"}, "metadata.generateName"),
        ({"name": ["p"]}, "request.object.metadata.name"),
        ({"annotations": {"ironflow.io/secrets": 5}}, "metadata.annotations"),
        (
            {"annotations": {"ironflow.io/secrets": "A," * (MAX_IRONFLOW_ANNOTATION_BYTES // 2 + 1)}},
            "annotation ironflow.io/secrets",
        ),
    ],
)
def test_given_invalid_pod_metadata_when_reviewed_then_refused_naming_the_field(
    meta: dict[str, Any], field: str
) -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD"})
    annotations = meta.pop("annotations", None)
    p["metadata"].update(meta)
    if annotations is not None:
        p["metadata"]["annotations"] = annotations
    responses, reader = _both(_review("dev", p))
    for response in responses:
        assert response["allowed"] is False and response["status"]["code"] == 400
        assert field in response["status"]["message"]
    assert reader.namespaces == []


@pytest.mark.parametrize(
    "container",
    [
        {"name": "app\nx"},
        {"name": "App"},
        {"name": 3},
        {"name": "app", "env": {"DB": "x"}},
        {"name": "app", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": ["app"]}}}]},
        {"name": "app", "envFrom": [None]},
        {"name": "app", "volumeMounts": "x"},
    ],
)
def test_given_malformed_container_when_reviewed_then_refused_not_crashed(container: dict[str, Any]) -> None:
    responses, reader = _both(_review("dev", pod({"ironflow.io/secrets": "DB_PASSWORD"}, container)))
    assert all(r["allowed"] is False and r["status"]["code"] == 400 for r in responses)
    assert reader.namespaces == []


@pytest.mark.parametrize("uid", [None, "", "u" * 200, "u1\nx", ["u1"]])
def test_given_invalid_uid_when_reviewed_then_refused_with_empty_uid(uid: object) -> None:
    responses, reader = _both(_review("dev", uid=uid))
    assert all(r["allowed"] is False and r["uid"] == "" and r["status"]["code"] == 400 for r in responses)
    assert reader.namespaces == []


@pytest.mark.parametrize(
    "body",
    [{}, {"request": {}}, {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}, []],
)
def test_given_not_an_admission_review_when_reviewed_then_refused(body: Any) -> None:
    reader = _Reader()
    out = asyncio.run(review_declarations(body, reader))
    assert out["response"]["allowed"] is False and out["response"]["status"]["code"] == 400
    assert reader.namespaces == []


def test_given_valid_review_from_a_generated_name_when_reviewed_then_read_once_and_admitted() -> None:
    p = pod({"ironflow.io/secrets": "DB_PASSWORD"})
    annotations = p["metadata"]["annotations"]
    p["metadata"] = {"generateName": "web-7d9f-", "namespace": "dev", "annotations": annotations}
    uid = "0f8e6c1a-3b1d-4a4e-9a7c-2f1d3c4b5a69"
    out = asyncio.run(review_declarations(_review("dev", p, uid=uid), _Reader()))
    assert out["response"]["allowed"] is True and out["response"]["patchType"] == "JSONPatch"
