"""The one kopf event handler of each Ironflow resource kind: rollouts, then cache and queue.

Why one: every replica watches every IronflowSecret and IronflowConfig of the cluster (the
admission index needs them all), and kopf builds a handler's keyword arguments and runs its
invocation machinery once per handler per event. With two handlers per kind (the cache's and the
rollouts') close to half of a replica's CPU at 100,000 resources went to that machinery; one
handler calling both pays it once.

It runs the two parts as kopf ran the two handlers: in registration order, which was the
rollouts' first (controller/main.py imported rollouts.py, through worker.py, before
resources.py), and each part whatever the other did. kopf logs an event handler's exception and
retries nothing, so a part that raises does not stop the other, and its exception still reaches
kopf's log; a cancellation stops both, as it stopped kopf's loop over the handlers.
"""

from __future__ import annotations

from typing import Any

import kopf

from ironflow.controller import resources, rollouts
from ironflow.controller.state import Runtime, runtime_of
from ironflow.core.model import CONFIG_KIND, GROUP, PLURALS, SECRET_KIND, VERSION, Kind


async def on_event(runtime: Runtime, kind: Kind, event: Any, namespace: str | None,
                   name: str | None) -> None:
    """Both parts, the second even if the first raised; then the first's exception goes on to kopf
    (if the second raised too, the second's goes, with the first's as its context)."""
    try:
        await rollouts.on_environment_event(runtime, "secret" if kind == SECRET_KIND else "config",
                                            event, namespace)
    except Exception:
        await resources.on_resource_event(runtime, kind, event, namespace, name)
        raise
    await resources.on_resource_event(runtime, kind, event, namespace, name)


@kopf.on.event(GROUP, VERSION, PLURALS[SECRET_KIND])
async def ironflow_secret_event(event: Any, namespace: str | None, name: str | None, memo: Any,
                                **_: Any) -> None:
    await on_event(runtime_of(memo), SECRET_KIND, event, namespace, name)


@kopf.on.event(GROUP, VERSION, PLURALS[CONFIG_KIND])
async def ironflow_config_event(event: Any, namespace: str | None, name: str | None, memo: Any,
                                **_: Any) -> None:
    await on_event(runtime_of(memo), CONFIG_KIND, event, namespace, name)
