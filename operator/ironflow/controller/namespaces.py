"""Which namespaces the operator serves, for publishing the sealing key into each of them.

An explicit list of plain names needs no discovery (and no cluster-wide permission): each is
published to directly. Globs, exclusions (`!name`) or "all namespaces" need a namespace watch,
matched by core/namespace_patterns.py. kopf watches the two custom resources (and the workloads)
once across the cluster in that case (`kopf_scope`), and its handlers drop what is not served.
Kubernetes' own namespaces (`Options.sealing_key_excluded`, by default kube-system, kube-public
and kube-node-lease) never get the ConfigMap, even when "all namespaces" or a glob matches them.
"""

from __future__ import annotations

import logging

from ironflow.controller.state import Runtime
from ironflow.controller.work import SealingKeyKey
from ironflow.core.namespace_patterns import matches as matches  # the callers' `namespaces.matches`
from ironflow.k8s import informers
from ironflow.k8s.informer import Synced

logger = logging.getLogger("ironflow.namespaces")
_GLOB = frozenset("*?[!")


def is_static(patterns: tuple[str, ...]) -> bool:
    return bool(patterns) and not any(_GLOB & set(p) for p in patterns)


def kopf_patterns(patterns: tuple[str, ...]) -> list[str]:
    """The same set as `matches`, written the way kopf reads namespace patterns.

    kopf ORs the entries of its list, and a lone `!name` entry means "everything but name", so
    handing it `["team-*", "!team-legacy"]` would watch every namespace but team-legacy. Within
    one entry it reads globs left to right, a first exclusion implying `*`. So each include gets
    its own entry carrying all the exclusions, and exclusions alone make a single entry.
    """
    includes = [p for p in patterns if not p.startswith("!")]
    excludes = [p for p in patterns if p.startswith("!")]
    if not includes:
        return [", ".join(excludes)] if excludes else []
    return [", ".join([include, *excludes]) for include in includes]


def kopf_scope(patterns: tuple[str, ...]) -> tuple[bool, list[str]]:
    """kopf's `clusterwide` and `namespaces`: plain names are watched one by one (Roles in those
    namespaces only, no cluster-wide read); anything else is watched once, across the cluster.

    With globs kopf would start a watcher per matching namespace, so a namespace created later
    waited for its own watch to start (its first LIST retried with kopf's backoff, or queued behind
    stopping the watchers of deleted namespaces). Watching once, nothing has to start."""
    if is_static(patterns):
        return False, kopf_patterns(patterns)
    return True, []


def _serve(runtime: Runtime, namespace: str) -> None:
    if namespace in runtime.options.sealing_key_excluded:
        return
    if namespace not in runtime.served_namespaces:
        runtime.served_namespaces.add(namespace)
        runtime.queue.add(SealingKeyKey(namespace))


async def discover(runtime: Runtime) -> None:
    patterns = runtime.options.namespaces
    if is_static(patterns):
        for namespace in patterns:
            _serve(runtime, namespace)
        return
    informer = informers.namespaces(runtime.kube, logger=logger)
    async for change in informer:
        if isinstance(change, Synced):
            continue
        obj = change.object
        name = (obj.get("metadata") or {}).get("name", "")
        if change.type == "DELETED" or (obj.get("status") or {}).get("phase") == "Terminating":
            runtime.served_namespaces.discard(name)
        elif matches(patterns, name):
            _serve(runtime, name)
