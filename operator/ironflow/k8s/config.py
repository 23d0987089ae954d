"""Which cluster to talk to, decided only from what the user named.

The safety rule: code and tests talk to the cluster they started or to one named on purpose.
So nothing here ever reaches for in-cluster credentials unless asked (`--in-cluster`, which the
manifests pass), and only the CLI may use kubectl's default file, because a person typing
`ironflow` expects that (unlike kubectl, a KUBECONFIG list is not merged: see docs/cli.md).
The operator and the tests never read `~/.kube/config`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ClusterNotNamed(RuntimeError):
    """No cluster was named, and guessing one is exactly what the safety rule forbids."""


@dataclass(frozen=True)
class ClusterChoice:
    """A cluster the user named: a kubeconfig file (and context) or the in-cluster service account."""

    kubeconfig: str | None
    context: str | None
    in_cluster: bool

    def describe(self) -> str:
        if self.in_cluster:
            return "in-cluster service account"
        ctx = f", context {self.context}" if self.context else ""
        return f"kubeconfig {self.kubeconfig}{ctx}"


def choose_cluster(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    in_cluster: bool = False,
    allow_default_file: bool = False,
) -> ClusterChoice:
    """Resolve flag > KUBECONFIG > (CLI only) ~/.kube/config > in-cluster only when asked."""
    if kubeconfig:
        return _from_file(kubeconfig, context)
    env = os.environ.get("KUBECONFIG", "").strip()
    if env:
        # kubectl merges a path list; we take the first existing file, as named.
        for part in env.split(os.pathsep):
            if part and Path(part).expanduser().is_file():
                return _from_file(part, context)
        raise ClusterNotNamed(f"KUBECONFIG is set to {env!r} but no such file exists")
    if in_cluster:
        return ClusterChoice(kubeconfig=None, context=None, in_cluster=True)
    if allow_default_file:
        default = Path.home() / ".kube" / "config"
        if default.is_file():
            return _from_file(str(default), context)
    raise ClusterNotNamed(
        "no cluster named: pass --kubeconfig PATH or set KUBECONFIG"
        + ("" if allow_default_file else " (or --in-cluster when running inside the cluster)")
    )


def _from_file(path: str, context: str | None) -> ClusterChoice:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ClusterNotNamed(f"kubeconfig {path} does not exist")
    return ClusterChoice(kubeconfig=str(p), context=context, in_cluster=False)
