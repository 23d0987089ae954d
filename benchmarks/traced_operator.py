"""ironflow-operator with a memory census on SIGUSR1, for benchmarks/memory_bench.py only.

Why a wrapper and not a flag: the census walks the operator's objects (slow, and it would show
the shape of the cache to anyone able to signal the process); it has no place in the product.
On SIGUSR1 it writes, as JSON to $IRONFLOW_CENSUS, the deep size of each holder of per-resource
state: our admission index, the rest of our CR cache (bodies), our projected-object cache, the
webhook's derived views, and kopf's per-object memories; plus tracemalloc's total when started
with `-X tracemalloc`. Sizes count each object once, in the first holder that reaches it (the
order below), so a body shared by two holders is charged to the first; the `alone` figures
measure each holder on its own, so their sum minus the total shows what is shared.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import tracemalloc
import types
from pathlib import Path
from typing import Any

_SKIP = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.CoroutineType,
    types.FrameType,
    asyncio.AbstractEventLoop,
    asyncio.Future,
    asyncio.Lock,
    asyncio.Event,
    asyncio.Condition,
    asyncio.Queue,
)


def deep_size(root: object, seen: set[int]) -> int:
    total, stack = 0, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, (str, bytes, int, float, bool)) or obj is None:
            continue
        else:
            if hasattr(obj, "__dict__"):
                stack.append(vars(obj))
            for slot in getattr(type(obj), "__slots__", ()):
                if hasattr(obj, slot):
                    stack.append(getattr(obj, slot))
    return total


def _holders() -> dict[str, list[object]]:
    found: dict[str, list[object]] = {"index": [], "cache": [], "projected": [], "webhook_views": [],
                                      "kopf_memories": []}
    for obj in gc.get_objects():
        name = type(obj).__name__
        if name == "Runtime" and type(obj).__module__ == "ironflow.controller.state":  # held by kopf's memo
            cache = vars(obj).get("cache")
            found["index"].append(vars(cache).get("_index"))  # the admission index (None before it)
            found["cache"].append(cache)
            found["projected"].append(vars(obj).get("projected"))
        elif name == "CachedEnvironments":
            found["webhook_views"].append(vars(obj).get("derived"))
        elif name == "ResourceMemories":
            found["kopf_memories"].append(obj)
    return found


def census(path: Path) -> None:
    gc.collect()
    holders = _holders()
    shared: set[int] = set()
    out: dict[str, Any] = {"first": {}, "alone": {}}
    for name, roots in holders.items():
        out["first"][name] = sum(deep_size(r, shared) for r in roots if r is not None)
        out["alone"][name] = sum(deep_size(r, set()) for r in roots if r is not None)
    if tracemalloc.is_tracing():
        out["traced"] = tracemalloc.get_traced_memory()[0]
    status = Path("/proc/self/status").read_text()
    out["proc"] = {
        line.split(":")[0]: line.split(":")[1].strip()
        for line in status.splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    path.write_text(json.dumps(out))


def main() -> None:
    target = Path(os.environ.pop("IRONFLOW_CENSUS"))
    signal.signal(signal.SIGUSR1, lambda *_: census(target))
    from ironflow.controller.entry import main as operator_main  # blocks the client libraries

    operator_main()


if __name__ == "__main__":
    main()
