"""AdmissionReview handling: responses, base64 patches, fail-closed errors, no values echoed."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Collection
from typing import Any

from helpers_ironflow_env import pod, view

from ironflow.core.declarations import Kind
from ironflow.core.environment_view import EnvironmentView
from ironflow.webhook.admission import review_declarations, review_enforcement

ENV = view(secrets={"app": {"DB_PASSWORD": "v1"}})


async def _read(
    namespace: str, declared: Collection[tuple[Kind, str]], *, secrets: Collection[str] = ()
) -> EnvironmentView:
    return ENV


async def _broken(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
    raise ConnectionError("canary-should-not-appear")


def _review(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u1", "namespace": "dev", "object": p, "operation": "CREATE"},
    }


def test_given_declaring_pod_when_reviewed_then_allowed_with_base64_json_patch() -> None:
    out = asyncio.run(review_declarations(_review(pod({"ironflow.io/secrets": "DB_PASSWORD"})), _read))
    response = out["response"]
    assert response["uid"] == "u1" and response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(response["patch"]))
    assert ops[0]["path"] == "/spec/containers/0/env"


def test_given_malformed_annotation_when_reviewed_then_denied_with_400_and_precise_message() -> None:
    out = asyncio.run(review_declarations(_review(pod({"ironflow.io/secrets": "BAD-NAME"})), _read))
    assert out["response"]["allowed"] is False
    assert out["response"]["status"]["code"] == 400
    assert (
        "ironflow.io/secrets: BAD-NAME is not an environment variable name"
        in out["response"]["status"]["message"]
    )


def test_given_environment_unreadable_when_reviewed_then_denied_without_exception_text() -> None:
    out = asyncio.run(review_declarations(_review(pod({"ironflow.io/secrets": "DB_PASSWORD"})), _broken))
    message = out["response"]["status"]["message"]
    assert out["response"]["allowed"] is False
    assert "could not read environment dev" in message and "canary" not in message


def test_given_user_env_value_when_warned_then_value_not_in_response() -> None:
    p = pod(
        {"ironflow.io/secrets": "DB_PASSWORD"},
        {"name": "app", "env": [{"name": "DB_PASSWORD", "value": "canary-plaintext-9f1"}]},
    )
    out = asyncio.run(review_declarations(_review(p), _read))
    assert "canary-plaintext-9f1" not in json.dumps(out)
    assert out["response"]["warnings"] == [
        "ironflow: container app already sets DB_PASSWORD; left as written, Ironflow did not inject it"
    ]


def test_given_enforced_env_and_envfrom_managed_secret_when_reviewed_then_denied() -> None:
    p = pod({}, {"name": "app", "envFrom": [{"secretRef": {"name": "app"}}]})
    out = asyncio.run(review_enforcement(_review(p), _read))
    assert out["response"]["allowed"] is False
    assert "container app envFrom (Secret app)" in out["response"]["status"]["message"]


def test_given_namespace_not_served_when_reviewed_then_denied_saying_so() -> None:
    from ironflow.webhook.admission import EnvironmentNotServed

    async def not_served(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
        raise EnvironmentNotServed(namespace)

    out = asyncio.run(review_declarations(_review(pod({"ironflow.io/secrets": "DB_PASSWORD"})), not_served))
    assert out["response"]["allowed"] is False
    assert "environment dev is not served by this Ironflow operator" in out["response"]["status"]["message"]


def test_given_declaring_pod_when_reviewed_then_reader_learns_exactly_the_declared_names() -> None:
    seen: list[list[tuple[Kind, str]]] = []

    async def recording(namespace: str, declared: Collection[tuple[Kind, str]]) -> EnvironmentView:
        seen.append(list(declared))
        return ENV

    annotations = {"ironflow.io/secrets": "DB_PASSWORD, OTHER?", "ironflow.io/configs": "HTTP_TIMEOUT_MS"}
    asyncio.run(review_declarations(_review(pod(annotations)), recording))

    assert [sorted(names) for names in seen] == [
        [("config", "HTTP_TIMEOUT_MS"), ("secret", "DB_PASSWORD"), ("secret", "OTHER")]
    ]


def test_given_enforced_env_and_reference_to_absent_secret_when_reviewed_then_denied_naming_it() -> None:
    seen: list[Collection[str]] = []

    async def nothing_exists(
        namespace: str, declared: Collection[tuple[Kind, str]], *, secrets: Collection[str] = ()
    ) -> EnvironmentView:
        seen.append(secrets)
        return dataclasses.replace(ENV, missing_secrets=frozenset(n for n in secrets if n != "app"))

    p = pod({}, {"name": "app", "envFrom": [{"secretRef": {"name": "future", "optional": True}}]})
    out = asyncio.run(review_enforcement(_review(p), nothing_exists))
    assert seen == [{"future"}]
    assert out["response"]["allowed"] is False
    message = out["response"]["status"]["message"]
    assert "container app envFrom (Secret future, which does not exist yet)" in message
