"""Admission reads no projected object the operator's own watch already shows owned by its resource.

The projected-object cache (controller/projected.py) is trusted only for "this object exists,
is labelled as ours and is controlled by this resource's uid". Anything else, and above all a
cache that trails a just-projected object, costs the one metadata GET admission always made, and
that GET decides: the cache never turns an admission the GET would allow into a refusal, nor
points a pod at an object its resource does not own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ironflow.controller.projected import ProjectedCache
from ironflow.core.environment_view import EnvironmentView, build_view
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL, SECRET_KIND
from ironflow.webhook.reader import Resources, environment_reader, owned_in


def _resource(name: str, names: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"sealed": dict.fromkeys(names, "")},
        "status": {"names": {n: {"version": v} for n, v in names.items()}},
    }


def _projected(name: str, owner_uid: str, *, labelled: bool = True, rv: int = 5) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "dev",
            "name": name,
            "resourceVersion": str(rv),
            "labels": {MANAGED_BY_LABEL: MANAGED_BY} if labelled else {},
            "ownerReferences": [{"apiVersion": "ironflow.io/v1alpha1", "kind": SECRET_KIND, "name": name,
                                 "uid": owner_uid, "controller": True}],
        },
        "data": {},
    }


class _Kube:
    """Counts metadata GETs; answers each with the object `live` holds under that path (None: 404)."""

    def __init__(self, live: dict[str, dict[str, Any]] | None = None) -> None:
        self.live = live or {}
        self.gets: list[str] = []

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        raise AssertionError(f"no LIST expected, got {method} {path}")

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        self.gets.append(path)
        return self.live.get(path)


def _cached(resources: Resources) -> Any:
    async def from_cache(namespace: str) -> EnvironmentView:
        return build_view(namespace, *resources)

    return from_cache


APP_PATH = "/api/v1/namespaces/dev/secrets/app"


def _read(kube: _Kube, projected: ProjectedCache) -> EnvironmentView:
    read = environment_reader(kube, cached=_cached(([_resource("app", {"DB": "v1"})], [])),  # type: ignore[arg-type]
                              owned=owned_in(projected))
    return asyncio.run(read("dev", [("secret", "DB")]))


def test_given_projection_cached_as_owned_when_a_pod_is_admitted_then_no_get_is_made() -> None:
    projected = ProjectedCache()
    projected.primed()
    projected.put(SECRET_KIND, _projected("app", "uid-app"))
    kube = _Kube()

    view = _read(kube, projected)

    assert kube.gets == []
    assert view.source("secret", "DB") == "app" and not view.is_foreign("secret", "app")


def test_given_cache_trailing_a_just_projected_object_when_admitted_then_one_get_decides_and_admits() -> None:
    projected = ProjectedCache()
    projected.primed()  # synced, but the watch has not delivered the new object yet: "absent"
    kube = _Kube(live={APP_PATH: _projected("app", "uid-app")})

    view = _read(kube, projected)

    assert kube.gets == [APP_PATH]
    assert not view.is_foreign("secret", "app")


def test_given_cache_trailing_when_the_object_is_someone_elses_then_the_get_finds_it_foreign() -> None:
    projected = ProjectedCache()
    projected.primed()  # an unlabelled Secret of someone else's is never in the watch
    kube = _Kube(live={APP_PATH: {"metadata": {"name": "app", "ownerReferences": []}}})

    view = _read(kube, projected)

    assert kube.gets == [APP_PATH]
    assert view.is_foreign("secret", "app")


def test_given_cached_object_owned_by_another_uid_when_admitted_then_read_and_refused_if_still_so() -> None:
    projected = ProjectedCache()
    projected.primed()
    projected.put(SECRET_KIND, _projected("app", "uid-of-a-deleted-app"))  # recreated resource, GC pending
    kube = _Kube(live={APP_PATH: _projected("app", "uid-of-a-deleted-app")})

    view = _read(kube, projected)

    assert kube.gets == [APP_PATH]
    assert view.is_foreign("secret", "app")


def test_given_cache_not_synced_when_admitted_then_read() -> None:
    projected = ProjectedCache()  # the drift watch's first list is not in yet
    kube = _Kube(live={APP_PATH: _projected("app", "uid-app")})

    view = _read(kube, projected)

    assert kube.gets == [APP_PATH]
    assert not view.is_foreign("secret", "app")


def test_given_projection_lost_its_label_when_admitted_then_read_again() -> None:
    projected = ProjectedCache()
    projected.primed()
    projected.put(SECRET_KIND, _projected("app", "uid-app", rv=5))
    projected.put(SECRET_KIND, _projected("app", "uid-app", labelled=False, rv=6))  # outside the watch now
    kube = _Kube(live={APP_PATH: _projected("app", "uid-app", labelled=False, rv=6)})

    _read(kube, projected)

    assert kube.gets == [APP_PATH]


def test_given_a_resource_without_uid_when_admitted_then_never_trusted_from_the_cache() -> None:
    projected = ProjectedCache()
    projected.primed()
    projected.put(SECRET_KIND, _projected("app", ""))
    resource = _resource("app", {"DB": "v1"})
    del resource["metadata"]["uid"]
    kube = _Kube(live={APP_PATH: _projected("app", "")})
    read = environment_reader(kube, cached=_cached(([resource], [])), owned=owned_in(projected))  # type: ignore[arg-type]

    asyncio.run(read("dev", [("secret", "DB")]))

    assert kube.gets == [APP_PATH]


def test_given_live_object_naming_the_resource_but_not_as_its_controller_when_admitted_then_foreign() -> None:
    """The GET asks what the operator asks before it writes (core/owners.py): an object whose
    reference to the resource is not its controller is one the operator will not project into."""
    projected = ProjectedCache()
    projected.primed()
    not_controller = _projected("app", "uid-app")
    not_controller["metadata"]["ownerReferences"][0]["controller"] = False
    kube = _Kube(live={APP_PATH: not_controller})

    view = _read(kube, projected)

    assert kube.gets == [APP_PATH]
    assert view.is_foreign("secret", "app")
