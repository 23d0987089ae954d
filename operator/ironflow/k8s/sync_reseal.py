"""The CLI's side of a reseal request: annotate an IronflowSecret, or create a temporary one, read
it until the operator answers in its status, and delete the temporary one again.

Unlike sync_resources' name-by-name edits these act on whole IronflowSecrets: the request is an
annotation (a merge patch of one key), and the temporary resource is deleted only if it is still
the one we created (a uid precondition), never a namesake made meanwhile.
"""

from __future__ import annotations

from typing import Any

from ironflow.core.model import API_VERSION, PLURALS, SECRET_KIND
from ironflow.k8s.paths import group_path
from ironflow.k8s.sync_client import MERGE_PATCH, SyncClient


def _path(namespace: str, name: str | None = None) -> str:
    return group_path(API_VERSION, PLURALS[SECRET_KIND], namespace, name)


def read_ironflow_secret(client: SyncClient, namespace: str, name: str) -> dict[str, Any]:
    """The IronflowSecret with its status; NotFound when it is gone."""
    return client.request("GET", _path(namespace, name))


def annotate_ironflow_secret(
    client: SyncClient, namespace: str, name: str, annotations: dict[str, str]
) -> None:
    """A merge patch of these annotations only; NotFound when it is gone, Forbidden without patch."""
    client.request("PATCH", _path(namespace, name), body={"metadata": {"annotations": annotations}},
                   content_type=MERGE_PATCH)


def create_ironflow_secret(client: SyncClient, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    """The created object (its generated name and uid included)."""
    return client.request("POST", _path(namespace), body=body)


def delete_ironflow_secret(client: SyncClient, namespace: str, name: str, uid: str) -> None:
    """Deletes it only while it is still the object with this uid."""
    client.request("DELETE", _path(namespace, name), body={"preconditions": {"uid": uid}})
