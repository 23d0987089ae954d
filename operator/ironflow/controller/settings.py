"""kopf settings: quiet, standalone, and filtered on the server.

- kopf must not post its log lines as Events (values could one day reach a message; we post our own
  Events, and only on transitions);
- watches of Secrets and ConfigMaps are narrowed server-side to what the operator made;
- other modules (the webhook, rollouts) extend the settings through SETTINGS_HOOKS, so there is one
  place where kopf is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from ironflow.controller import state
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL

SettingsHook = Callable[[kopf.OperatorSettings, state.Options], None]
SETTINGS_HOOKS: list[SettingsHook] = []


def configure(settings: kopf.OperatorSettings, options: state.Options) -> None:
    settings.posting.enabled = False
    settings.peering.standalone = True
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
    settings.watching.label_selectors["v1", "secrets"] = selector
    settings.watching.label_selectors["v1", "configmaps"] = selector
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    settings.scanning.disabled = False
    for hook in SETTINGS_HOOKS:
        hook(settings, options)


@kopf.on.startup()
async def _startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    configure(settings, state.current().options)
