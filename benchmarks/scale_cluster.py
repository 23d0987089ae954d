"""The scale benchmark's cluster side: many namespaces, resources spread over them, and checks.

Resource i (of each kind) lives in namespace i mod M, so a change of every value made in order
of i reaches every namespace all through the change (a replica killed half way leaves work in
each of its namespaces). The check for lost changes walks the cluster-wide lists in pages: at
100,000 resources one unpaged list would hold them all in this process at once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes import client
from operator_bench import GROUP, PLURALS, VERSION, parallel, resource

from ironflow.core.lease import DEFAULT_LEASE_NAME

PREFIX = "scale-"
PAGE = 1000


def namespace(i: int, namespaces: int) -> str:
    return f"{PREFIX}{i % namespaces:04d}"


def create_namespaces(core: client.CoreV1Api, namespaces: int) -> None:
    parallel(
        lambda i=i: core.create_namespace({"metadata": {"name": namespace(i, namespaces)}})
        for i in range(namespaces)
    )


def write_all(
    custom: client.CustomObjectsApi, public: bytes, indices: range, namespaces: int, value: str, create: bool
) -> float:
    """Resources `indices` (of each kind) created, or their value set, to f"{value}-{i}"; seconds taken."""

    def one(kind: str, i: int) -> None:
        ns = namespace(i, namespaces)
        body = resource(public, kind, i, f"{value}-{i}", ns)
        if create:
            custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURALS[kind], body)
        else:
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, ns, PLURALS[kind], f"r{i}", {"spec": body["spec"]}
            )

    return parallel(lambda k=k, i=i: one(k, i) for i in indices for k in PLURALS)


def pages(list_call: Callable[..., Any], *args: str) -> Iterator[dict[str, Any]]:
    """A cluster-wide list, a page (items, metadata) at a time, parsed without the client's models."""
    token = None
    while True:
        page: dict[str, Any] = json.loads(
            list_call(*args, limit=PAGE, _continue=token, _preload_content=False).data
        )
        yield page
        token = page["metadata"].get("continue")
        if not token:
            return


def lost_changes(core: client.CoreV1Api, count: int, namespaces: int, value: str) -> int:
    """Resources whose projected object does not hold f"{value}-{i}" (missing counts as lost)."""
    held: dict[tuple[str, str], str] = {}
    for item in (i for page in pages(core.list_secret_for_all_namespaces) for i in page["items"]):
        if item["metadata"]["namespace"].startswith(PREFIX):
            for name, data in (item.get("data") or {}).items():
                held[("Secret", name)] = base64.b64decode(data).decode(errors="replace")
    for item in (i for page in pages(core.list_config_map_for_all_namespaces) for i in page["items"]):
        if item["metadata"]["namespace"].startswith(PREFIX):
            for name, data in (item.get("data") or {}).items():
                held[("ConfigMap", name)] = data
    return sum(
        1
        for kind in ("Secret", "ConfigMap")
        for i in range(count)
        if held.get((kind, f"V{i}")) != f"{value}-{i}"
    )


def leader(api: client.ApiClient, operator_namespace: str) -> str:
    lease = client.CoordinationV1Api(api).read_namespaced_lease(DEFAULT_LEASE_NAME, operator_namespace)
    return str(lease.spec.holder_identity or "")
