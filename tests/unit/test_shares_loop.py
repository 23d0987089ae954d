"""The Shares loop (controller/shares.py) over a fake store of member Leases and a fake clock.

The store answers as the API server does: create is 409 when the Lease exists, update and a
delete with a precondition are 409 unless they carry the current resourceVersion, 404 when gone.
"""

from __future__ import annotations

import asyncio
import datetime
import types
from collections.abc import Mapping
from typing import Any

from ironflow.controller.leadership import ElectionOptions
from ironflow.controller.shares import Shares
from ironflow.core.lease import HolderPod
from ironflow.core.shares import owner
from ironflow.k8s.async_client import ApiError

T0 = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
NAMESPACES = [f"team-{i}" for i in range(40)]


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime.datetime:
        return T0 + datetime.timedelta(seconds=self.now - 1000.0)


class MemberStore:
    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.verbs: list[str] = []

    async def request(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                      body: Mapping[str, Any] | None = None, guarded: bool = True,
                      **_: Any) -> dict[str, Any]:
        if method == "GET":
            assert query is not None and query["labelSelector"] == (
                "app.kubernetes.io/managed-by=ironflow-operator,ironflow.dev/member-of=ironflow-operator")
            return {"metadata": {}, "items": list(self.leases.values())}
        assert guarded is False and body is not None, "member Lease writes bypass the write gate"
        self.verbs.append(method)
        name = path.rsplit("/", 1)[-1] if method != "POST" else body["metadata"]["name"]
        current = self.leases.get(name)
        if method == "DELETE":
            if current is None:
                raise ApiError(404, "NotFound", "gone")
            if body["preconditions"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", "precondition failed")
            del self.leases[name]
            return {}
        if method == "POST" and current is not None:
            raise ApiError(409, "AlreadyExists", "exists")
        if method == "PUT" and current is None:
            raise ApiError(404, "NotFound", "gone")
        if method == "PUT" and body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "modified")
        self.version += 1
        self.leases[name] = {"metadata": {**body["metadata"], "resourceVersion": str(self.version)},
                             "spec": body["spec"]}
        return self.leases[name]


def _replica(store: MemberStore, clock: Clock, name: str, pod: HolderPod | None = None) -> Shares:
    options = ElectionOptions(identity=f"{name}_1", sharding=True, replica_id=name, pod=pod)
    leadership = types.SimpleNamespace(is_leading=lambda: False, share_pause=lambda _now: None)
    shares = Shares(store, "ops", options, leadership, clock=clock, wall=clock.wall)  # type: ignore[arg-type]
    shares.candidates = lambda: NAMESPACES
    shares.resources_in = lambda _ns: 2
    return shares


async def _rounds(clock: Clock, count: int, *replicas: Shares) -> None:
    for _ in range(count):
        for replica in replicas:
            await replica.step()
        clock.now += 2.0


def test_given_two_replicas_when_they_renew_and_list_then_they_split_the_namespaces_and_publish_it() -> None:
    store, clock = MemberStore(), Clock()
    pod = HolderPod("ops", "op-7d9f", "uid-1", "ironflow")
    a, b = _replica(store, clock, "Op-A", pod), _replica(store, clock, "op-b")

    asyncio.run(_rounds(clock, 3, a, b))  # the counts published are those of the round before
    assert a.owned() == {n for n in NAMESPACES if owner(n, ["Op-A", "op-b"]) == "Op-A"}
    assert b.owned() == set(NAMESPACES) - a.owned() and a.owned() and b.owned()
    lease = store.leases["ironflow-operator-member-op-a"]
    annotations = lease["metadata"]["annotations"]
    assert annotations["ironflow.dev/view"] == "Op-A,op-b" and lease["spec"]["holderIdentity"] == "Op-A"
    assert annotations["ironflow.dev/share-namespaces"] == str(len(a.owned()))
    assert annotations["ironflow.dev/share-resources"] == str(2 * len(a.owned()))
    assert annotations["ironflow.io/holder-pod"] == "ops/op-7d9f"
    assert lease["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Pod", "name": "op-7d9f",
                                                     "uid": "uid-1"}]
    assert lease["metadata"]["labels"]["ironflow.dev/member-of"] == "ironflow-operator"
    assert "ownerReferences" not in store.leases["ironflow-operator-member-op-b"]["metadata"]
    assert set(store.verbs) == {"POST", "PUT"}


def test_given_two_replicas_when_one_is_released_then_its_lease_goes_and_the_other_takes_all() -> None:
    store, clock = MemberStore(), Clock()
    a, b = _replica(store, clock, "a"), _replica(store, clock, "b")
    moved: list[tuple[set[str], set[str]]] = []
    a.on_change(lambda gained, lost: moved.append((gained, lost)))
    asyncio.run(_rounds(clock, 3, a, b))
    mine = set(a.owned())
    asyncio.run(a.release())
    assert moved[-1] == (set(), mine) and not a.owns(NAMESPACES[0])
    assert "ironflow-operator-member-a" not in store.leases and store.verbs[-1] == "DELETE"
    asyncio.run(a.release())  # SIGTERM released it; the final stop calls again: nothing more is sent
    assert store.verbs.count("DELETE") == 1
    clock.now += 0.5
    asyncio.run(b.step())
    assert b.owned() == set(NAMESPACES)


def test_given_a_member_lease_deleted_under_a_replica_when_it_renews_then_it_creates_it_again() -> None:
    store, clock = MemberStore(), Clock()
    a = _replica(store, clock, "a")
    asyncio.run(_rounds(clock, 2, a))
    store.leases.clear()
    asyncio.run(_rounds(clock, 2, a))
    assert "ironflow-operator-member-a" in store.leases and a.owned() == set(NAMESPACES)
