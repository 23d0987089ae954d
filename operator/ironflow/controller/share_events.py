"""Events of resources outside this replica's share: the index is updated here, kopf never sees them.

Why: every replica watches every IronflowSecret and IronflowConfig of the release, because every
replica answers admission for every served namespace and needs the names each resource defines.
Outside its share that is all a replica does with an event, yet kopf spent far more on each one
(a worker task per object, handler arguments, a logger) than the index update costs: at 100,000
resources on 4 replicas most of each replica's CPU. controller/kopf_decoding.py asks `divert_for`
about each event of our kinds as it is decoded, and an event taken here reaches kopf only as a
bookmark of its resourceVersion.

An event is taken here only when its namespace is not served (kopf's handlers would ignore it) or
the cache holds no bodies there (with sharding: outside the share, and no take is listing it). The
share can change between an event kopf queued and the moment its handler runs; the cache then
ignores whatever is older than what it holds (by resourceVersion, and by uid for deletions), so a
late event does not undo a diverted one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironflow.controller.kopf_decoding import Divert
from ironflow.controller.state import Runtime
from ironflow.core.model import CONFIG_KIND, SECRET_KIND, Kind


def _kind(name: str) -> Kind | None:
    return SECRET_KIND if name == SECRET_KIND else CONFIG_KIND if name == CONFIG_KIND else None


def divert_for(runtime: Runtime) -> Divert:
    def divert(kind_name: str, event_type: str | None, body: Mapping[str, Any]) -> bool:
        kind = _kind(kind_name)
        metadata = body.get("metadata")
        if kind is None or not isinstance(metadata, Mapping):
            return False
        namespace, name = metadata.get("namespace"), metadata.get("name")
        if not isinstance(namespace, str) or not isinstance(name, str) or not namespace or not name:
            return False  # kopf's handlers see it, and report it as they do today
        if not runtime.serves(namespace):
            return True
        if runtime.cache.holds_bodies(namespace):  # the share (everything without sharding), or a take
            return False
        if event_type != "DELETED":
            runtime.cache.put(kind, body)  # a reseal-only body leaves the index there, as a deletion
        elif runtime.cache.known(kind, namespace, name):
            runtime.cache.drop(kind, namespace, name, str(metadata.get("uid") or ""))
        return True

    return divert
