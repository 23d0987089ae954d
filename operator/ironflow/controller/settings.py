"""kopf settings: quiet, standalone, and filtered on the server.

- kopf keeps its progress and diff-base state in memory (controller/storage.py), never on objects;
- kopf must not post its log lines as Events (values could one day reach a message; we post our own
  Events, and only on transitions);
- the drift watch of Secrets and ConfigMaps is the operator's own (controller/drift.py); should a
  kopf handler on them be added, its watch is narrowed server-side to what the operator made;
- kopf's per-object workers exit soon after their last event: our handlers only queue a key, and
  with kopf's default (5 s idle) a start over N objects keeps N live workers per watched kind,
  each holding its last event body, which made the start-up peak of memory;
- kopf lists in pages of LIST_CHUNK (its default is one unpaged response: at 10,000 resources one
  decoded list of every body at once, on top of the bodies it queues).

This is the one place where kopf is configured.
"""

from __future__ import annotations

import kopf

from ironflow.controller import state
from ironflow.controller.storage import MemoryDiffBaseStorage, MemoryProgressStorage
from ironflow.core.model import MANAGED_BY, MANAGED_BY_LABEL

IDLE_WORKER_SECONDS = 0.5
LIST_CHUNK = 500


def configure(settings: kopf.OperatorSettings, options: state.Options) -> None:
    settings.posting.enabled = False
    settings.persistence.progress_storage = MemoryProgressStorage()
    settings.persistence.diffbase_storage = MemoryDiffBaseStorage()
    settings.peering.standalone = True
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
    settings.watching.label_selectors["v1", "secrets"] = selector
    settings.watching.label_selectors["v1", "configmaps"] = selector
    settings.queueing.idle_timeout = IDLE_WORKER_SECONDS
    settings.watching.server_timeout = 300
    settings.watching.chunk_size = LIST_CHUNK
    settings.networking.request_timeout = 60
    settings.scanning.disabled = False
