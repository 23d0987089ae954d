"""Posting Events about a resource ourselves (kopf's log-to-Event posting is switched off).

Events are only posted for outcome transitions the projection reports, so an unchanged resource
costs no Event writes. A failed post is logged and dropped: an Event is a notice, and retrying it
must never hold back the reconcile that produced it.
"""

from __future__ import annotations

import datetime
import logging
import socket

from ironflow.core.conditions import Event
from ironflow.core.model import API_VERSION, Resource
from ironflow.k8s.async_client import ApiError, Kube, core_path
from ironflow.metrics import API_WRITES

logger = logging.getLogger("ironflow.events")
COMPONENT = "ironflow-operator"
_HOST = socket.gethostname()


async def post(kube: Kube, resource: Resource, event: Event) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{resource.name}.", "namespace": resource.namespace},
        "involvedObject": {"apiVersion": API_VERSION, "kind": resource.kind, "name": resource.name,
                           "namespace": resource.namespace, "uid": resource.uid},
        "reason": event.reason,
        "message": event.message,
        "type": event.type,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": _HOST,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    try:
        await kube.create(core_path("events", resource.namespace), body)
        API_WRITES.labels(resource="events", verb="create").inc()
    except ApiError as exc:
        logger.warning("could not post %s Event %s for %s %s/%s: %s", event.type, event.reason,
                       resource.kind, resource.namespace, resource.name, exc)
