"""Which environment a command means when no --env/-n is given: the kubeconfig context's namespace.

kubectl plugins follow kubectl here (`kubectl config set-context --current --namespace prod`,
then every command acts on prod), so `kubectl ironflow` must too. Reading the kubeconfig file is
local: nothing is contacted. As in kubectl, a context without a namespace means `default`.
"""

from __future__ import annotations

from typing import Final

from ironflow.k8s.config import ClusterNotNamed, choose_cluster
from ironflow.k8s.kubeconfig_files import KubeconfigError, merge

DEFAULT_NAMESPACE: Final = "default"


class NoContextNamespace(ValueError):
    """No kubeconfig to read a namespace from; the message says what to pass instead."""


def context_namespace(kubeconfig: str | None, context: str | None) -> str:
    """The namespace of `context` (default: the current context) in the kubeconfig the CLI would use
    (a KUBECONFIG list merged as kubectl merges it)."""
    try:
        choice = choose_cluster(kubeconfig, context, allow_default_file=True)
    except ClusterNotNamed as exc:
        raise NoContextNamespace(str(exc)) from None
    if choice.kubeconfig is None:
        return DEFAULT_NAMESPACE
    try:
        merged = merge(choice.kubeconfig_files)
    except KubeconfigError as exc:
        raise NoContextNamespace(str(exc)) from None
    wanted = context or merged.current_context
    if not wanted:
        raise NoContextNamespace(f"{merged.where} has no current context")
    entry = merged.entries["contexts"].get(wanted)
    if entry is None:
        raise NoContextNamespace(f"{merged.where} has no context named {wanted!r}")
    namespace = entry.body.get("namespace")
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE
