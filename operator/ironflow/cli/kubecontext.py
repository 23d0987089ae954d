"""Which environment a command means when no --env/-n is given: the kubeconfig context's namespace.

kubectl plugins follow kubectl here (`kubectl config set-context --current --namespace prod`,
then every command acts on prod), so `kubectl ironflow` must too. Reading the kubeconfig file is
local: nothing is contacted. As in kubectl, a context without a namespace means `default`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from ironflow.k8s.config import ClusterNotNamed, choose_cluster

DEFAULT_NAMESPACE: Final = "default"


class NoContextNamespace(ValueError):
    """No kubeconfig to read a namespace from; the message says what to pass instead."""


def _named(items: object, name: str) -> Mapping[str, Any] | None:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("name") == name:
            return item
    return None


def context_namespace(kubeconfig: str | None, context: str | None) -> str:
    """The namespace of `context` (default: the current context) in the kubeconfig the CLI would use."""
    try:
        choice = choose_cluster(kubeconfig, context, allow_default_file=True)
    except ClusterNotNamed as exc:
        raise NoContextNamespace(str(exc)) from None
    if choice.kubeconfig is None:
        return DEFAULT_NAMESPACE
    try:
        doc = yaml.safe_load(Path(choice.kubeconfig).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise NoContextNamespace(f"cannot read kubeconfig {choice.kubeconfig}: {exc}") from None
    doc = doc if isinstance(doc, Mapping) else {}
    wanted = context or doc.get("current-context")
    if not isinstance(wanted, str) or not wanted:
        raise NoContextNamespace(f"kubeconfig {choice.kubeconfig} has no current context")
    entry = _named(doc.get("contexts"), wanted)
    if entry is None:
        raise NoContextNamespace(f"kubeconfig {choice.kubeconfig} has no context named {wanted!r}")
    body = entry.get("context")
    namespace = body.get("namespace") if isinstance(body, Mapping) else None
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE
