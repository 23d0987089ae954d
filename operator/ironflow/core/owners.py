"""Who controls an object: the one reader of its controller ownerReference.

An object has at most one controller (the API server refuses a second), and that owner alone
decides whether the operator may write the object: the operator projects only into an object
its resource controls, the webhook points a pod only at such an object, drift is traced back to
it, and `ironflow status` names a workload, not its ReplicaSet. So every one of them asks here,
and they cannot disagree about what "owned" means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def controller_reference(
    meta: Any, kind: str | None = None, group: str | None = None
) -> Mapping[str, Any] | None:
    """The controller ownerReference in `meta` (an object's metadata), or None.

    With `kind`, only a controller of that kind; with `group`, only one of that API group
    (`apiVersion` `group/...`). Anything that is not a reference (a hostile body) is passed over."""
    references = meta.get("ownerReferences") if isinstance(meta, Mapping) else None
    for ref in references if isinstance(references, list) else ():
        if not isinstance(ref, Mapping) or not ref.get("controller"):
            continue
        if kind is not None and ref.get("kind") != kind:
            continue
        if group is not None and not str(ref.get("apiVersion", "")).startswith(f"{group}/"):
            continue
        return ref
    return None
