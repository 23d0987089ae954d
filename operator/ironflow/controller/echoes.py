"""The versions our own writes produced, so their watch echoes queue no reconcile.

A changed value costs two writes (the projected object, the status) and each comes back as a watch
event: the drift watch's for the object, kopf's for the status. Both used to queue the resource
again, so every change ran three reconciles, two of which decided, unsealed and compared only to
find what the first had just written. At 2,000 resources that was two thirds of the reconciles of
a change of every value, CPU the API server shares on a small host (docs/benchmarks.md).

An echo is recognised exactly: same object, same resourceVersion as the answer to our write. Such
an event holds precisely the state the writing reconcile produced, decided on the newest spec it
had; anything that happened since (a later edit, someone else's write, a sibling, a key change)
arrives as a different version or queues the resource by its own path. An echo that comes before
the write's answer is handled as before (it queues a reconcile that finds nothing to do) and its
record is never matched: harmless, and replaced by the next write of that object.
"""

from __future__ import annotations


class OwnWrites:
    """(resource plural, namespace, name) -> the resourceVersion our last write of it produced."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str, str], str] = {}

    def wrote(self, resource: str, namespace: str, name: str, version: object) -> None:
        if version:
            self._versions[(resource, namespace, name)] = str(version)

    def is_echo(self, resource: str, namespace: str, name: str, version: object) -> bool:
        """True once for the event that carries exactly the version our write produced."""
        key = (resource, namespace, name)
        if version and self._versions.get(key) == str(version):
            del self._versions[key]
            return True
        return False

    def forget(self, resource: str, namespace: str, name: str) -> None:
        self._versions.pop((resource, namespace, name), None)

    def __len__(self) -> int:
        return len(self._versions)
