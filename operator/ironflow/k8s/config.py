"""Which cluster to talk to, decided only from what the user named.

The safety rule: code and tests talk to the cluster they started or to one named on purpose.
So nothing here ever reaches for in-cluster credentials unless asked (`--in-cluster`, which the
manifests pass), and only the CLI may use kubectl's default file, because a person typing
`ironflow` expects kubectl's behaviour. The operator and the tests never read `~/.kube/config`.
A `KUBECONFIG` list is kept whole (its existing files, in order) so that it can be merged the
way kubectl merges it (k8s/kubeconfig_files.py); `--kubeconfig` names one file, as in kubectl.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ClusterNotNamed(RuntimeError):
    """No cluster was named, and guessing one is exactly what the safety rule forbids."""


@dataclass(frozen=True)
class ClusterChoice:
    """A cluster the user named: kubeconfig file(s) (and context) or the in-cluster service account.

    `kubeconfig` is the first (often the only) file; `more_kubeconfigs` the rest of a KUBECONFIG
    list, merged after it."""

    kubeconfig: str | None
    context: str | None
    in_cluster: bool
    more_kubeconfigs: tuple[str, ...] = ()

    @property
    def kubeconfig_files(self) -> tuple[str, ...]:
        return (self.kubeconfig, *self.more_kubeconfigs) if self.kubeconfig else ()

    def describe(self) -> str:
        if self.in_cluster:
            return "in-cluster service account"
        ctx = f", context {self.context}" if self.context else ""
        return f"kubeconfig {os.pathsep.join(self.kubeconfig_files)}{ctx}"


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
        # kubectl merges the files of the list that exist (missing ones are skipped), each once.
        files = [str(Path(p).expanduser()) for p in env.split(os.pathsep) if p]
        existing = [p for p in dict.fromkeys(files) if Path(p).is_file()]
        if not existing:
            raise ClusterNotNamed(f"KUBECONFIG is set to {env!r} but no such file exists")
        return ClusterChoice(kubeconfig=existing[0], context=context, in_cluster=False,
                             more_kubeconfigs=tuple(existing[1:]))
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
