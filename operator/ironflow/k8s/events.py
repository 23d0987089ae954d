"""The one Event body the operator posts, on its own resources and on the workloads it rolls.

Built in one place so that every Event says the same about where it came from (source, reporting
component and instance) and is a single occurrence stamped with the time of the decision, which
is what `kubectl describe` and dashboards read. The message is the caller's: built from names
only, never from a value.
"""

from __future__ import annotations

import datetime
import socket
from collections.abc import Mapping
from typing import Any, Final

from ironflow.k8s.async_client import Kube, core_path

COMPONENT: Final = "ironflow-operator"
_HOST = socket.gethostname()


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(involved: Mapping[str, Any], type_: str, reason: str, message: str,
               when: str | None = None) -> dict[str, Any]:
    """An Event about `involved` (an objectReference: apiVersion, kind, name, namespace, uid)."""
    when = when or now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{involved.get('name')}.", "namespace": involved.get("namespace")},
        "involvedObject": dict(involved),
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": _HOST,
        "firstTimestamp": when,
        "lastTimestamp": when,
        "count": 1,
    }


async def create_event(kube: Kube, involved: Mapping[str, Any], type_: str, reason: str, message: str,
                       when: str | None = None) -> None:
    """Posts it into the involved object's namespace; API errors propagate for the caller to log."""
    body = event_body(involved, type_, reason, message, when)
    await kube.create(core_path("events", str(involved.get("namespace"))), body)
