"""Every kopf handler module of the operator; importing this module registers them all.

Keep it a plain list of imports: each feature (projection, drift repair, webhook, rollouts) adds
its own line here.
"""

from __future__ import annotations

from ironflow.controller import drift, login, resources, rollouts, settings, webhook_startup

__all__ = ["drift", "login", "resources", "rollouts", "settings", "webhook_startup"]
