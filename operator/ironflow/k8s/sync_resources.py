"""Reading and editing Ironflow resources one name at a time, safely under concurrency.

Two people (or two CI jobs) setting different names in the same resource at the same moment
must both land. So nothing here reads, edits and writes back a whole object: each change is a
JSON patch of exactly the keys it touches, which the API server applies to the current object.
JSON patch rather than a merge patch because a merge patch would merge a new JSON object value
into the old one instead of replacing it, and would read a JSON null as "delete".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ironflow.core.model import (
    API_VERSION,
    CONFIG_KIND,
    GROUP,
    PLURALS,
    SECRET_KIND,
    SPEC_FIELD,
    VERSION,
    Spec,
    spec_of,
)
from ironflow.core.model import Kind as ResourceKind
from ironflow.k8s.paths import core_path, group_path
from ironflow.k8s.sync_client import FIELD_MANAGER, JSON_PATCH, MERGE_PATCH, SyncClient
from ironflow.k8s.sync_errors import AlreadyExists, Forbidden, Invalid, NamespaceNotFound, NotFound

_ATTEMPTS: Final = 4


@dataclass(frozen=True)
class Kind:
    """An Ironflow resource type and the spec map that holds its names."""

    kind: ResourceKind
    plural: str
    field: str


SECRETS: Final = Kind(SECRET_KIND, PLURALS[SECRET_KIND], SPEC_FIELD[SECRET_KIND])
CONFIGS: Final = Kind(CONFIG_KIND, PLURALS[CONFIG_KIND], SPEC_FIELD[CONFIG_KIND])


def mapping(value: object) -> dict[str, Any]:
    """A sub-object of an API answer, or {} when absent or of the wrong shape (status may lag)."""
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def name_facts(obj: Mapping[str, Any], name: str) -> dict[str, Any]:
    """status.names[NAME] as the operator wrote it, {} until it has."""
    return mapping(mapping(mapping(obj.get("status")).get("names")).get(name))


def entries(obj: Mapping[str, Any], kind: Kind) -> dict[str, Any]:
    """The NAME map as stored (through the one spec reader: {} for an InvalidSpec)."""
    return dict(spec_of(kind.kind, obj).entries)


class IronflowApi:
    def __init__(self, client: SyncClient) -> None:
        self.client = client

    def _collection(self, kind: Kind, namespace: str | None) -> str:
        return group_path(f"{GROUP}/{VERSION}", kind.plural, namespace)

    def _item(self, kind: Kind, namespace: str, name: str) -> str:
        return group_path(f"{GROUP}/{VERSION}", kind.plural, namespace, name)

    def namespace_exists(self, namespace: str) -> bool | None:
        """None when the user may not read namespaces: a namespaced role is normal, not an error."""
        try:
            self.client.request("GET", core_path("namespaces", name=namespace))
        except NotFound:
            return False
        except Forbidden:
            return None
        return True

    def list_namespaces(self) -> list[dict[str, Any]]:
        """Every namespace; Forbidden when the user may not list them."""
        doc = self.client.request("GET", core_path("namespaces"))
        return [item for item in doc.get("items") or [] if isinstance(item, dict)]

    def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.client.request("GET", core_path("configmaps", namespace, name))
        except NotFound:
            return None

    def list_configmaps_named(self, name: str) -> list[dict[str, Any]]:
        """Every namespace's ConfigMap of this name (needs cluster-wide list permission)."""
        doc = self.client.request(
            "GET", core_path("configmaps"), query=[("fieldSelector", f"metadata.name={name}")]
        )
        return [item for item in doc.get("items", []) if isinstance(item, dict)]

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.client.request("GET", self._item(kind, namespace, name))
        except NotFound:
            return None

    def list(self, kind: Kind, namespace: str | None) -> list[dict[str, Any]]:
        doc = self.client.request("GET", self._collection(kind, namespace))
        items = [item for item in doc.get("items", []) if isinstance(item, dict)]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def set_entries(self, kind: Kind, namespace: str, resource: str, values: Mapping[str, Any]) -> None:
        """Add or replace these names in `resource`, creating it if absent; other names untouched."""
        ops = [
            {"op": "add", "path": f"/spec/{kind.field}/{name}", "value": value}
            for name, value in values.items()
        ]
        for _ in range(_ATTEMPTS):
            try:
                self._patch(kind, namespace, resource, ops, JSON_PATCH)
                return
            except NotFound:
                pass
            except Invalid:
                if not self._ensure_map(kind, namespace, resource):
                    raise
                continue
            try:
                self._create(kind, namespace, resource, values)
                return
            except AlreadyExists:  # someone created it since our patch: patch theirs
                continue
        raise AlreadyExists(f"{kind.kind} {resource} kept appearing and disappearing; try again")

    def remove_entry(self, kind: Kind, namespace: str, resource: str, name: str) -> bool:
        """False when the name was not there (or the resource does not exist)."""
        try:
            self._patch(
                kind,
                namespace,
                resource,
                [{"op": "remove", "path": f"/spec/{kind.field}/{name}"}],
                JSON_PATCH,
            )
        except NotFound:
            return False
        except Invalid:
            current = self.get(kind, namespace, resource)
            if current is None or name not in entries(current, kind):
                return False
            raise
        return True

    def _ensure_map(self, kind: Kind, namespace: str, resource: str) -> bool:
        """A resource written by hand may lack the map; True when we added it (retry worth it)."""
        current = self.get(kind, namespace, resource)
        if current is None:
            return False
        spec = spec_of(kind.kind, current)
        if isinstance(spec, Spec) and spec.has_map:
            return False
        self._patch(kind, namespace, resource, {"spec": {kind.field: {}}}, MERGE_PATCH)
        return True

    def _patch(self, kind: Kind, namespace: str, name: str, body: Any, content_type: str) -> None:
        self.client.request(
            "PATCH",
            self._item(kind, namespace, name),
            body=body,
            content_type=content_type,
            query=[("fieldManager", FIELD_MANAGER)],
        )

    def _create(self, kind: Kind, namespace: str, name: str, values: Mapping[str, Any]) -> None:
        body = {
            "apiVersion": API_VERSION,
            "kind": kind.kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": {kind.field: dict(values)},
        }
        try:
            self.client.request(
                "POST", self._collection(kind, namespace), body=body, query=[("fieldManager", FIELD_MANAGER)]
            )
        except NotFound as exc:
            if isinstance(exc, NamespaceNotFound):
                raise
            raise NamespaceNotFound(namespace) from None
