"""Reading and replacing one Secret for the CLI: the master key's whole lifecycle is these two calls.

The replacement is a PUT carrying the resourceVersion that was read, never a patch: if anyone
edited the Secret in between, the API server answers Conflict and nothing is written, so a key
change made from a stale read can never drop a key.
"""

from __future__ import annotations

from typing import Any

from ironflow.k8s.paths import core_path
from ironflow.k8s.sync_client import SyncClient


def read_secret(client: SyncClient, namespace: str, name: str) -> dict[str, Any]:
    """The Secret as stored; NotFound when there is none."""
    return client.request("GET", core_path("secrets", namespace, name))


def replace_secret(client: SyncClient, secret: dict[str, Any]) -> None:
    """PUT `secret` back where its metadata says; Conflict when it changed since it was read."""
    meta = secret["metadata"]
    client.request("PUT", core_path("secrets", meta["namespace"], meta["name"]), body=secret)
