"""Every kopf handler module of the operator; importing this module registers them all.

Keep it a plain list of imports: each feature (projection, webhook, rollouts) adds its own line
here. The drift watch is not kopf's: main.py starts it (controller/drift.py).
"""

from __future__ import annotations

from ironflow.controller import cr_events, login, pod_webhook, rollouts, settings

__all__ = ("cr_events", "login", "pod_webhook", "rollouts", "settings")
