"""kopf reads watch events and listings with Python's recursive JSON decoder; make it bounded.

Why: kopf decodes every watch line with `json.loads` (`kopf._cogs.clients.api.stream`) and every
listing with aiohttp's `response.json()` (`api.get`, used by `fetching.fetch_objs`). An object
nested about 1000 levels deep (the API server stores up to 10 000) makes that decoder raise
RecursionError inside kopf's watcher: the watch of the whole kind ends, the operator exits, and
it exits again after every restart while the object exists. kopf offers no hook for its decoder,
so `install()` points exactly those two call sites at `core.bounded_json.loads`, which never
recurses and cuts off subtrees nested past its bound. The bad object then reaches our handlers
like any other and is reported on (its value is refused by `core.config_values`), while every
other resource keeps being watched and reconciled.

The same two call sites also slim every IronflowSecret and IronflowConfig body before kopf queues
it: kopf lists everything at once (its scheduler has no back-pressure), so at start-up each listed
body waits in a queue, and kubectl-applied bodies carry their field-ownership records and a full
copy of the last applied object, often more than the object itself. kopf never needs either: its
state lives in our in-memory storages (controller/storage.py; kopf's annotation diff-base, which
would read the last-applied annotation, is not used) and it writes only merge patches of status,
annotations and finalizers, which do not depend on what the body it holds carried.

The listing GET also survives a continue token the API server has compacted away (410 Expired).
kopf fetches a list page by page while it processes what it got; at 100,000 resources a busy
replica took more than the 5 minutes between compactions to get through one, and kopf treats the
410 as fatal: the watcher failed and the whole operator exited (and would again after a restart,
while the list stays that slow). Here the page is asked again without the token, which starts the
list over at a new consistent version: kopf gets the objects of the earlier pages a second time
(handled like any listed object) and starts its watch from the version of the list it finished,
so no change falls between the list and the watch.

Last, the same two call sites hand the events of resources this replica neither reconciles nor
serves straight to the operator (`install(divert)`, controller/share_events.py) and never to kopf.
Every replica receives every event of the release (the admission index needs the names of all of
them), and kopf's per-event machinery (a worker task per object, handler keyword arguments, a
logger per event) was most of a replica's CPU at 100,000 resources; outside its share a replica
only updates the index, which is a synchronous dictionary update. A diverted watch event reaches
kopf as a BOOKMARK carrying its resourceVersion (kopf keeps the version for its next watch and
skips the rest), a diverted listed item is left out of the page kopf gets.

The two attributes replaced here are private to kopf: `tests/unit/test_kopf_decoding.py` fails
if a kopf upgrade moves them, rather than letting the protection silently lapse.
"""

from __future__ import annotations

import json
import logging
import types
from collections.abc import Callable, Mapping
from typing import Any

from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import errors as kopf_errors

from ironflow.controller.slim_bodies import DROPPED_ANNOTATIONS, DROPPED_METADATA
from ironflow.core import bounded_json
from ironflow.core.model import GROUP
from ironflow.k8s.informer import without_continue

logger = logging.getLogger("ironflow.kopf-decoding")

_MARK = "_ironflow_bounded_json"
_DIVERT = "_ironflow_divert"
_OURS = f"{GROUP}/"
_CHANGES = ("ADDED", "MODIFIED", "DELETED")

# (kind, event type or None for a listed item, body) -> True when the operator took the event
# itself and kopf must not see it.
Divert = Callable[[str, str | None, Mapping[str, Any]], bool]


def _divert() -> Divert | None:
    found: Divert | None = getattr(kopf_api, _DIVERT, None)
    return found


def _slim_metadata(body: Any) -> None:
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        return
    for key in DROPPED_METADATA:
        metadata.pop(key, None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for key in DROPPED_ANNOTATIONS:
            annotations.pop(key, None)


def _ours(api_version: Any) -> bool:
    return isinstance(api_version, str) and api_version.startswith(_OURS)


def slim_event(event: Any) -> Any:
    """A watch event, its object slimmed when it is one of our kinds (in place)."""
    obj = event.get("object") if isinstance(event, dict) else None
    if isinstance(obj, dict) and _ours(obj.get("apiVersion")):
        _slim_metadata(obj)
    return event


def slim_listing(listing: Any) -> Any:
    """A list response (its items carry no apiVersion of their own), items slimmed when ours."""
    items = listing.get("items") if isinstance(listing, dict) else None
    if isinstance(items, list) and _ours(listing.get("apiVersion")):
        for item in items:
            _slim_metadata(item)
    return listing


def _taken(divert: Divert, kind: str, event_type: str | None, body: dict[str, Any]) -> bool:
    """Whether `divert` took it. It runs inside kopf's decoding, where an exception would end the
    watch of the whole kind, so one that raises hands the event to kopf as before (its handler
    reports it); the exception's text is not logged, it could quote the body."""
    try:
        return divert(kind, event_type, body)
    except Exception as exc:
        logger.warning("an %s event could not be taken outside kopf (%s); kopf handles it",
                       kind, type(exc).__name__)
        return False


def divert_event(event: Any, divert: Divert | None) -> Any:
    """The watch event, or a BOOKMARK of its resourceVersion when `divert` took it."""
    if divert is None or not isinstance(event, dict) or event.get("type") not in _CHANGES:
        return event
    obj = event.get("object")
    if not isinstance(obj, dict) or not _ours(obj.get("apiVersion")):
        return event
    metadata = obj.get("metadata")
    version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
    # kopf resumes its watch from the last version it saw: a bookmark without one would restart it
    if not isinstance(version, str) or not version:
        return event
    if not _taken(divert, str(obj.get("kind")), event["type"], obj):
        return event
    return {"type": "BOOKMARK", "object": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                                           "metadata": {"resourceVersion": version}}}


def divert_listing(listing: Any, divert: Divert | None) -> Any:
    """The list response without the items `divert` took (in place)."""
    if divert is None or not isinstance(listing, dict) or not _ours(listing.get("apiVersion")):
        return listing
    items, kind = listing.get("items"), str(listing.get("kind") or "").removesuffix("List")
    if isinstance(items, list):
        listing["items"] = [i for i in items if not (isinstance(i, dict) and _taken(divert, kind, None, i))]
    return listing


def _loads(text: str | bytes) -> Any:
    return divert_event(slim_event(bounded_json.loads(text)), _divert())


class _BoundedJsonModule(types.ModuleType):
    """Stands in for the `json` module inside kopf's API client: bounded `loads`, the rest as is."""

    def __init__(self) -> None:
        super().__init__("json")
        self.loads = _loads

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


async def _bounded_get(
    url: str,
    *,
    settings: Any,
    payload: object | None = None,
    headers: dict[str, str] | None = None,
    timeout: Any = None,  # noqa: ASYNC109 - kopf's own signature, passed through
    logger: Any,
) -> Any:
    """kopf's `api.get`, with the body decoded by `bounded_json` instead of `response.json()`, and a
    list page whose continue token expired asked again from the list's start."""
    try:
        response = await kopf_api.request(
            method="get", url=url, payload=payload, headers=headers, timeout=timeout, settings=settings,
            logger=logger,
        )
    except kopf_errors.APIClientError as exc:
        first_page = without_continue(url) if exc.status == 410 else None
        if first_page is None:
            raise
        logger.warning("a paged list outlived its continue token (410 Expired, compacted by the API "
                       "server); listing again from the first page")
        response = await kopf_api.request(
            method="get", url=first_page, payload=payload, headers=headers, timeout=timeout,
            settings=settings, logger=logger,
        )
    async with response:
        return divert_listing(slim_listing(bounded_json.loads(await response.read())), _divert())


def install(divert: Divert | None = None) -> None:
    """Idempotent; called before kopf starts watching. `divert` replaces the one given before."""
    setattr(kopf_api, _DIVERT, divert)
    if getattr(kopf_api, _MARK, False):
        return
    setattr(kopf_api, "json", _BoundedJsonModule())  # noqa: B010 - a private attribute of kopf's
    setattr(kopf_api, "get", _bounded_get)  # noqa: B010
    setattr(kopf_api, _MARK, True)
