"""The kinds of work the operator's queue holds: one small frozen key type per kind.

A key names what to look at again, never what to do with it: the worker reads the current state
when the key comes up, so a key queued twice runs once (controller/workqueue.py). Keys of
different types never compare equal, so a namespace's sealing key and its rollout check are two
entries. The worker maps each type to its reconcile (controller/worker.py, DISPATCH); a new kind
of work is a new type here, added to `WorkKey` and to that table. `str(key)` is how logs name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ironflow.core.model import Kind


@dataclass(frozen=True, slots=True, order=True)
class CrKey:
    """An IronflowSecret or IronflowConfig: project it and report its status."""

    kind: Kind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"cr/{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class SealingKeyKey:
    """The ironflow-sealing-key ConfigMap of one served namespace."""

    namespace: str

    def __str__(self) -> str:
        return f"sealing-key/{self.namespace}"


@dataclass(frozen=True, slots=True, order=True)
class AnchorKey:
    """The signer anchor in the operator's namespace, which the CLI trusts on first use."""

    def __str__(self) -> str:
        return "signing-key"


@dataclass(frozen=True, slots=True, order=True)
class ResealKey:
    """A pending `secret reseal` request on an IronflowSecret, or a temporary one to collect."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"reseal/{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class WithdrawKey:
    """Sealing-key ConfigMaps left in namespaces this operator no longer serves."""

    def __str__(self) -> str:
        return "withdraw-unserved"


@dataclass(frozen=True, slots=True, order=True)
class RolloutKey:
    """The workloads of one environment that may need to roll."""

    namespace: str

    def __str__(self) -> str:
        return f"rollout/{self.namespace}"


WorkKey = CrKey | SealingKeyKey | AnchorKey | ResealKey | WithdrawKey | RolloutKey
