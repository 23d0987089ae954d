"""Warn, in the log and in the metric `ironflow_crds_outdated`, while the cluster's CRDs are older
than this operator (core/crd_versions.py says why that happens silently).

Checked at start and every CHECK_SECONDS after, so the warning clears once the CRDs are applied.
Reads each CRD by a list with a name field selector: the chart's RBAC grants list/watch on CRDs
(kopf's resource scan needs it), and a plain list would carry every CRD of the cluster.
"""

from __future__ import annotations

import asyncio
import logging

from ironflow import __version__, metrics
from ironflow.controller.state import Runtime
from ironflow.core.crd_versions import compare
from ironflow.core.model import GROUP, PLURALS
from ironflow.k8s.async_client import ApiError
from ironflow.k8s.crds import find_crd

logger = logging.getLogger("ironflow.crds")
CHECK_SECONDS = 300.0
CRDS = tuple(f"{plural}.{GROUP}" for plural in PLURALS.values())


async def check_once(runtime: Runtime, said: dict[str, str]) -> int:
    """The number of CRDs older than the operator; a verdict is logged when it changes (`said`)."""
    outdated = 0
    for name in CRDS:
        try:
            crd = await find_crd(runtime.kube, name)
        except ApiError as exc:
            if said.get(name) != "error":
                logger.warning("cannot read CRD %s to compare its version: %s", name, exc)
            said[name] = "error"
            continue
        if crd is None:
            verdict, text = "missing", f"CRD {name} is not installed: apply crds/ (docs/install.md)"
        else:
            verdict, text = compare(crd, __version__)
        outdated += verdict in ("older", "missing")
        if said.get(name) != verdict:
            (logger.info if verdict == "current" else logger.warning)("%s", text)
        said[name] = verdict
    metrics.CRDS_OUTDATED.set(outdated)
    return outdated


async def watch(runtime: Runtime) -> None:
    said: dict[str, str] = {}
    while True:
        await check_once(runtime, said)
        await asyncio.sleep(CHECK_SECONDS)
